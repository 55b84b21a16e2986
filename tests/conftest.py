"""Shared by every test: no setting leaks in from the developer's shell, and settings on a temp directory."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import create_async_engine

from sdassist.config import Settings

LEAKY_PREFIXES = ("SOCIALDOCK_", "SDASSIST_", "SLACK_")
TEST_DATABASE_URL = os.environ.get("SDASSIST_TEST_DATABASE_URL")
"""Set (by scripts/with_postgres.sh) to run the same tests on PostgreSQL instead of a SQLite file per test."""


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """A real key or database in the shell must never reach a test: everything runs on the sandbox."""
    for key in list(os.environ):
        if key.startswith(LEAKY_PREFIXES) and key not in ("SDASSIST_TEST_DATABASE_URL", "SDASSIST_UPDATE_SNAPSHOTS"):
            monkeypatch.delenv(key, raising=False)


def make_settings(tmp_path: Path, **overrides: Any) -> Settings:
    """Settings on the embedded sandbox with a database in `tmp_path`, read in Europe/Berlin."""
    values = {"SDASSIST_DATA_DIR": str(tmp_path), "SDASSIST_TIMEZONE": "Europe/Berlin"}
    if TEST_DATABASE_URL:
        values["SDASSIST_DATABASE_URL"] = TEST_DATABASE_URL
    values.update(overrides)
    return Settings(_env_file=None, **values)


@pytest.fixture
def settings_factory(tmp_path: Path) -> Callable[..., Settings]:
    return lambda **overrides: make_settings(tmp_path, **overrides)


async def _drop_everything(url: str) -> None:
    from sdassist import ratebudget
    from sdassist.identity import store as identity
    from sdassist.publishing import media, store

    engine = create_async_engine(url)
    try:
        async with engine.begin() as conn:
            await conn.run_sync(store.metadata.drop_all)
            await conn.run_sync(ratebudget.metadata.drop_all)
            await conn.run_sync(identity.metadata.drop_all)
            await conn.run_sync(media.metadata.drop_all)
    finally:
        await engine.dispose()


@pytest.fixture(autouse=True)
def fresh_shared_database() -> None:
    """On a shared test database every test starts from empty tables, as it does with its own SQLite file."""
    if TEST_DATABASE_URL:
        asyncio.run(_drop_everything(TEST_DATABASE_URL))


def load_bench(name: str) -> Any:
    """A benchmark script from bench/ as a module, so a short version of it can run as a test."""
    import importlib.util
    import sys

    path = Path(__file__).resolve().parents[1] / "bench" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"bench_{name}", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module
