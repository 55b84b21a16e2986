"""The sandbox clock: real time plus an offset that tests move, and ISO 8601 helpers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta


def iso(moment: datetime | None) -> str | None:
    """ISO 8601 in UTC with a `Z`, milliseconds only when there are some."""
    if moment is None:
        return None
    moment = moment.astimezone(UTC)
    if moment.microsecond:
        return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_iso(text: str) -> datetime:
    """Parse ISO 8601 (a trailing `Z` allowed); naive times are taken as UTC. Raises ValueError."""
    if not isinstance(text, str) or not text.strip():
        raise ValueError("not an ISO 8601 string")
    value = text.strip()
    if value.endswith(("Z", "z")):
        value = value[:-1] + "+00:00"
    moment = datetime.fromisoformat(value)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


class SandboxClock:
    """Follows real time; `advance` and `set` move an offset so scheduled work can be reached at once."""

    def __init__(self) -> None:
        self.offset = timedelta(0)

    def now(self) -> datetime:
        return datetime.now(UTC) + self.offset

    def advance(self, seconds: float) -> datetime:
        self.offset += timedelta(seconds=seconds)
        return self.now()

    def set(self, moment: datetime) -> datetime:
        self.offset = moment - datetime.now(UTC)
        return self.now()

    def reset(self) -> None:
        self.offset = timedelta(0)
