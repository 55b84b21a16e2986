"""`sdassist slack` refuses to start without its tokens, naming them (never their values)."""

from __future__ import annotations

import argparse

import pytest

from sdassist.slack_app import run


def test_missing_tokens_exit_2_with_the_names(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture,
                                              tmp_path) -> None:
    monkeypatch.chdir(tmp_path)
    for name in ("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_APP_TOKEN", "SDASSIST_APPROVAL_CHANNEL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-secret-value")
    assert run(argparse.Namespace(host="127.0.0.1", port=0)) == 2
    err = capsys.readouterr().err
    assert "SLACK_SIGNING_SECRET" in err and "SDASSIST_APPROVAL_CHANNEL" in err
    assert "xoxb-secret-value" not in err
