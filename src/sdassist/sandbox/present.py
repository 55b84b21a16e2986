"""How stored posts look on the wire; the shape differs by endpoint exactly as the docs show."""

from __future__ import annotations

from typing import Any

from .clock import iso
from .records import PostRecord, TargetRecord


def target_brief(target: TargetRecord) -> dict[str, Any]:
    """A target as `POST /posts` answers it: platform, status, platform_post_id once published."""
    out: dict[str, Any] = {"platform": target.platform, "status": target.status}
    if target.platform_post_id is not None:
        out["platform_post_id"] = target.platform_post_id
    if target.error is not None:
        out["error"] = target.error
    return out


def target_full(target: TargetRecord) -> dict[str, Any]:
    return {"platform": target.platform, "account_id": target.account_id, "status": target.status,
            "platform_post_id": target.platform_post_id, "error": target.error,
            "published_at": iso(target.published_at)}


def created(post: PostRecord) -> dict[str, Any]:
    return {"post_id": post.id, "status": post.status, "targets": [target_brief(t) for t in post.targets]}


def _common(post: PostRecord) -> dict[str, Any]:
    return {"title": post.title, "status": post.status, "scheduled_at": iso(post.scheduled_at),
            "created_at": iso(post.created_at), "published_at": iso(post.published_at),
            "targets": [target_full(t) for t in post.targets], "media_urls": post.media_urls,
            "tags": post.tags}


def list_item(post: PostRecord) -> dict[str, Any]:
    return {"id": post.id, "text": post.text, **_common(post)}


def bare_list_item(post: PostRecord) -> dict[str, Any]:
    """A list item exactly as documented: no targets, no schedule."""
    return {"id": post.id, "status": post.status, "text": post.text, "created_at": iso(post.created_at)}


def detail(post: PostRecord) -> dict[str, Any]:
    """`GET /posts/{id}` calls the text `body` and lists the media with ids."""
    media = [{"id": m.id, "url": m.url, "mime_type": m.mime_type} for m in post.media]
    return {"id": post.id, "body": post.text, **_common(post), "media": media}


def updated(post: PostRecord) -> dict[str, Any]:
    return {"post": {"id": post.id, "text": post.text, **_common(post)}}
