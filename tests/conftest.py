"""Shared by every test: no setting leaks in from the developer's shell, and settings on a temp directory."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from sdassist.config import Settings

LEAKY_PREFIXES = ("SOCIALDOCK_", "SDASSIST_", "SLACK_")


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """A real key or database in the shell must never reach a test: everything runs on the sandbox."""
    import os

    for key in list(os.environ):
        if key.startswith(LEAKY_PREFIXES) and key not in ("SDASSIST_TEST_DATABASE_URL", "SDASSIST_UPDATE_SNAPSHOTS"):
            monkeypatch.delenv(key, raising=False)


def make_settings(tmp_path: Path, **overrides: Any) -> Settings:
    """Settings on the embedded sandbox with a database in `tmp_path`, read in Europe/Berlin."""
    values = {"SDASSIST_DATA_DIR": str(tmp_path), "SDASSIST_TIMEZONE": "Europe/Berlin"}
    values.update(overrides)
    return Settings(_env_file=None, **values)


@pytest.fixture
def settings_factory(tmp_path: Path) -> Callable[..., Settings]:
    return lambda **overrides: make_settings(tmp_path, **overrides)
