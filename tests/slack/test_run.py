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


async def test_serve_settles_the_start_up_heap_before_it_answers(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`sdassist slack` freezes what start-up built, so full GC passes no longer walk it during acks."""
    import asyncio
    import gc

    import httpx

    from sdassist import heap
    from sdassist.config import Settings
    from sdassist.sandbox.server import free_loopback_port
    from sdassist.slack_app import serve
    from tests.slack.fake_slack import FakeSlack

    settled: list[int] = []
    monkeypatch.setattr(heap, "settle", lambda: settled.append(gc.get_freeze_count()) or 0)
    fake = await FakeSlack().start()
    settings = Settings(_env_file=None, SLACK_BOT_TOKEN="xoxb-test", SLACK_SIGNING_SECRET="s",
                        SDASSIST_SLACK_API_URL=fake.api_url, SDASSIST_APPROVAL_CHANNEL="C0APPROVE",
                        SDASSIST_DATA_DIR=str(tmp_path), SDASSIST_TIMEZONE="UTC")
    port, stop = free_loopback_port(), asyncio.Event()
    server = asyncio.create_task(serve(settings, "127.0.0.1", port, stop=stop))
    try:
        async with httpx.AsyncClient() as http:
            for _ in range(400):
                if settled:
                    break
                await asyncio.sleep(0.05)
            assert settled, "serve() did not settle the heap after start-up"
            answer = await http.get(f"http://127.0.0.1:{port}/socialdock/connected?platform=x")
            assert answer.status_code == 200  # and it serves after settling
    finally:
        stop.set()
        await asyncio.wait_for(server, 30)
        await fake.stop()


def test_settle_freezes_what_survived_start_up() -> None:
    import gc

    from sdassist import heap

    before = gc.get_freeze_count()
    try:
        frozen = heap.settle()
        assert frozen == gc.get_freeze_count() and frozen > before
        assert gc.get_count()[2] == 0  # nothing left in the oldest generation for a full pass to walk
    finally:
        gc.unfreeze()
