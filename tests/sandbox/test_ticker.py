"""The sandbox's scheduler keeps ticking through a failure, and says what failed."""

from __future__ import annotations

import asyncio
import logging

import pytest

from sdassist.sandbox import SandboxConfig
from sdassist.sandbox.state import SandboxState


async def test_a_failing_tick_is_logged_and_the_ticker_goes_on(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    state = SandboxState(SandboxConfig(tick_seconds=0.01))
    calls = 0

    def broken() -> bool:
        nonlocal calls
        calls += 1
        raise OSError("disk full")

    monkeypatch.setattr(state, "publish_due", broken)
    with caplog.at_level(logging.ERROR, logger="sdassist.sandbox"):
        state.ensure_background()
        await asyncio.sleep(0.1)
        await state.aclose()
    assert calls >= 2  # still ticking after the first failure
    assert "publishing due posts failed" in caplog.text and "disk full" in caplog.text
