"""The sandbox's stored objects and their JSON (de)serialisation for the optional state file."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from datetime import datetime
from typing import Any

from .clock import iso, parse_iso

_TIMES = {"connected_at", "created_at", "updated_at", "scheduled_at", "published_at", "expires_at"}


@dataclass
class Account:
    id: str
    workspace: str
    platform: str
    username: str
    display_name: str
    connected_at: datetime
    status: str = "active"


@dataclass
class TargetRecord:
    platform: str
    account_id: str
    metadata: dict[str, Any] = field(default_factory=dict)
    status: str = "scheduled"
    platform_post_id: str | None = None
    error: str | None = None
    published_at: datetime | None = None


@dataclass
class MediaRecord:
    id: str
    workspace: str
    url: str
    mime_type: str | None
    source_url: str
    file_name: str | None = None
    created_at: datetime | None = None
    size: int | None = None  # bytes fetched from source_url (None: not fetched, a URL off this machine)


@dataclass
class PostRecord:
    id: str
    workspace: str
    text: str
    title: str | None
    targets: list[TargetRecord]
    media: list[MediaRecord]
    media_urls: list[str]
    tags: list[str]
    scheduled_at: datetime | None
    created_at: datetime
    status: str = "scheduled"
    published_at: datetime | None = None
    updated_at: datetime | None = None


@dataclass
class WebhookRecord:
    id: str
    workspace: str
    url: str
    events: list[str]
    secret: str | None
    active: bool = True
    created_at: datetime | None = None


def dump(obj: Any) -> dict[str, Any]:
    """A record as JSON-ready data (datetimes as ISO strings)."""
    def convert(value: Any) -> Any:
        if isinstance(value, datetime):
            return iso(value)
        if isinstance(value, dict):
            return {k: convert(v) for k, v in value.items()}
        if isinstance(value, list):
            return [convert(v) for v in value]
        return value
    return convert(asdict(obj))


def load(cls: type, data: dict[str, Any]) -> Any:
    """The inverse of `dump` for one record class (nested targets and media included)."""
    names = {f.name for f in fields(cls)}
    kwargs: dict[str, Any] = {}
    for key, value in data.items():
        if key not in names:
            continue
        if key in _TIMES and isinstance(value, str):
            value = parse_iso(value)
        elif key == "targets":
            value = [load(TargetRecord, t) for t in value]
        elif key == "media":
            value = [load(MediaRecord, m) for m in value]
        kwargs[key] = value
    return cls(**kwargs)
