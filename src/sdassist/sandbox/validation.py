"""Checks of `POST /posts` and `PUT /posts/{id}` bodies; every problem is reported at once."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from .bodies import unknown_fields
from .clock import iso, parse_iso
from .envelope import ApiError
from .records import Account
from .rules import PLATFORMS, check_target_content, is_http_url, media_kind

MimeLookup = Callable[[str], str | None]
TARGET_FIELDS = ("platform", "account_id", "metadata")


@dataclass
class PostInput:
    text: str = ""
    title: str | None = None
    targets: list[dict[str, Any]] = field(default_factory=list)
    media_urls: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    publish_now: bool = True
    scheduled_at: datetime | None = None


def _fail(problems: list[str], missing_accounts: list[str]) -> ApiError:
    if missing_accounts and len(problems) == len(missing_accounts):
        ids = ", ".join(missing_accounts)
        return ApiError(400, "Account not found", f"No account with id {ids} exists in this workspace.")
    return ApiError(400, "Invalid request body", "; ".join(problems))


def _check_common(body: dict[str, Any], out: PostInput, problems: list[str], *, partial: bool) -> None:
    if "text" in body or not partial:
        text = body.get("text")
        if text is None:
            problems.append("text is required")
        elif not isinstance(text, str):
            problems.append("text must be a string")
        elif not text.strip():
            problems.append("text must not be empty")
        else:
            out.text = text
    if "title" in body:
        title = body["title"]
        if title is not None and not isinstance(title, str):
            problems.append("title must be a string")
        else:
            out.title = title
    if "media_urls" in body:
        urls = body["media_urls"]
        if urls is None:
            urls = []
        if not isinstance(urls, list):
            problems.append("media_urls must be an array of URLs")
        else:
            bad = [u for u in urls if not is_http_url(u)]
            if bad:
                problems.append(f"media_urls must be http(s) URLs: {', '.join(map(str, bad))} is not")
            else:
                out.media_urls = list(urls)
    if "tags" in body:
        tags = body["tags"]
        if tags is None:
            tags = []
        if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
            problems.append("tags must be an array of strings")
        else:
            out.tags = list(tags)


def _check_time(raw: Any, now: datetime, problems: list[str]) -> datetime | None:
    try:
        moment = parse_iso(raw)
    except (ValueError, TypeError):
        problems.append(f"scheduled_at must be an ISO 8601 datetime (e.g. 2026-04-01T09:00:00Z), got {raw!r}")
        return None
    if moment <= now:
        problems.append(f"scheduled_at {iso(moment)} is not in the future (now is {iso(now)})")
        return None
    return moment


def _check_targets(raw: Any, accounts: dict[str, Account], problems: list[str],
                   missing: list[str]) -> list[dict[str, Any]]:
    if raw is None:
        problems.append("targets is required: an array of {platform, account_id, metadata?}")
        return []
    if not isinstance(raw, list) or not raw:
        problems.append("targets must be a non-empty array of {platform, account_id, metadata?}")
        return []
    targets: list[dict[str, Any]] = []
    seen: set[str] = set()
    for i, target in enumerate(raw):
        where = f"targets[{i}]"
        if not isinstance(target, dict):
            problems.append(f"{where} must be an object")
            continue
        extra = unknown_fields(target, TARGET_FIELDS, f"{where}: ")
        if extra:
            problems.append(extra)
            continue
        platform, account_id = target.get("platform"), target.get("account_id")
        metadata = target.get("metadata") or {}
        if platform not in PLATFORMS:
            problems.append(f"{where}.platform must be one of {', '.join(PLATFORMS)} (got {platform!r})")
            continue
        if not isinstance(account_id, str) or not account_id:
            problems.append(f"{where}.account_id is required")
            continue
        if not isinstance(metadata, dict):
            problems.append(f"{where}.metadata must be an object")
            continue
        account = accounts.get(account_id)
        if account is None:
            problems.append(f"{where}: no account with id {account_id} exists in this workspace")
            missing.append(account_id)
            continue
        if account.platform != platform:
            problems.append(f"{where}: account {account_id} is a {account.platform} account, not {platform}")
            continue
        if account_id in seen:
            problems.append(f"{where}: account {account_id} is targeted twice")
            continue
        seen.add(account_id)
        targets.append({"platform": platform, "account_id": account_id, "metadata": metadata})
    return targets


def check_content(out: PostInput, mime_of: MimeLookup, problems: list[str]) -> None:
    """Per-platform rules for every target, on the final text, title and media."""
    kinds = [media_kind(mime_of(url)) for url in out.media_urls]
    for target in out.targets:
        problems.extend(check_target_content(target["platform"], out.text, out.title, kinds,
                                             target["metadata"]))


def validate_create(body: dict[str, Any], accounts: dict[str, Account], mime_of: MimeLookup,
                    now: datetime) -> PostInput:
    """A checked `POST /posts` body, or an ApiError(400) listing every problem."""
    out = PostInput()
    problems: list[str] = []
    missing: list[str] = []
    _check_common(body, out, problems, partial=False)
    out.targets = _check_targets(body.get("targets"), accounts, problems, missing)
    publish_now = body.get("publish_now", True)
    if not isinstance(publish_now, bool):
        problems.append("publish_now must be true or false")
    else:
        out.publish_now = publish_now
    if out.publish_now is False:
        if body.get("scheduled_at") is None:
            problems.append("scheduled_at is required when publish_now is false")
        else:
            out.scheduled_at = _check_time(body["scheduled_at"], now, problems)
    if not problems:
        check_content(out, mime_of, problems)
    if problems:
        raise _fail(problems, missing)
    return out


UPDATABLE = ("text", "title", "scheduled_at", "media_urls", "tags")


def validate_update(
    body: dict[str, Any], current: PostInput, mime_of: MimeLookup, now: datetime
) -> PostInput:
    """The post after a `PUT`, checked as a whole; unknown fields are refused."""
    problems: list[str] = []
    unknown = sorted(set(body) - set(UPDATABLE))
    if unknown:
        problems.append(f"cannot update {', '.join(unknown)}; updatable fields: {', '.join(UPDATABLE)}")
    out = PostInput(**{**current.__dict__})
    _check_common(body, out, problems, partial=True)
    if "scheduled_at" in body:
        moment = _check_time(body["scheduled_at"], now, problems)
        if moment is not None:
            out.scheduled_at = moment
    if not problems:
        check_content(out, mime_of, problems)
    if problems:
        raise ApiError(400, "Invalid request body", "; ".join(problems))
    return out
