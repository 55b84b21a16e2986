"""Deterministic, growing analytics: figures come from a hash of the ids and the sandbox time elapsed."""

from __future__ import annotations

import hashlib
from datetime import datetime

from .clock import iso
from .records import Account, PostRecord, TargetRecord
from .rules import NO_ANALYTICS


def _seed(*parts: str) -> int:
    return int.from_bytes(hashlib.sha256("|".join(parts).encode()).digest()[:8], "big")


def _growth(hours: float, half_life_hours: float = 12.0) -> float:
    """0 at publication, rising towards 1: the share of lifetime engagement reached so far."""
    hours = max(hours, 0.0)
    return hours / (hours + half_life_hours)


def target_metrics(post: PostRecord, target: TargetRecord, now: datetime) -> dict[str, int] | None:
    """Views, likes, comments, shares of one target; None where the platform has no analytics."""
    if target.platform in NO_ANALYTICS:
        return None
    if target.status != "published" or target.published_at is None:
        return {"views": 0, "likes": 0, "comments": 0, "shares": 0}
    seed = _seed(post.id, target.account_id)
    reach = 500 + seed % 9500
    g = _growth((now - target.published_at).total_seconds() / 3600)
    views = int(reach * g)
    return {
        "views": views,
        "likes": int(views * (0.03 + (seed >> 16) % 50 / 1000)),
        "comments": int(views * (0.005 + (seed >> 24) % 10 / 1000)),
        "shares": int(views * (0.002 + (seed >> 32) % 8 / 1000)),
    }


def account_metrics(account: Account, now: datetime) -> dict:
    """Follower figures that grow a little each day since the account was connected."""
    seed = _seed(account.id)
    days = max((now - account.connected_at).total_seconds() / 86400, 0.0)
    base = 1000 + seed % 49000
    growth_pct = round(1.0 + (seed >> 20) % 40 / 10, 1)
    followers = int(base * (1 + growth_pct / 100 * days / 30))
    return {
        "platform": account.platform,
        "metrics": {
            "followers": followers,
            "following": 50 + (seed >> 8) % 900,
            "posts": 20 + (seed >> 12) % 400 + int(days),
            "followers_growth_pct": growth_pct,
            "avg_engagement_rate": round(1.5 + (seed >> 28) % 60 / 10, 1),
        },
        "fetched_at": iso(now),
    }


def overview(posts: list[PostRecord], now: datetime) -> dict:
    """Totals over posts created in the period, as `GET /analytics/overview` reports them."""
    finished = published = 0
    platforms: dict[str, dict[str, int]] = {}
    for post in posts:
        for target in post.targets:
            entry = platforms.setdefault(target.platform, {"posts": 0, "total_reach": 0})
            entry["posts"] += 1
            if target.status in ("published", "failed"):
                finished += 1
            if target.status == "published":
                published += 1
                metrics = target_metrics(post, target, now)
                if metrics:
                    entry["total_reach"] += metrics["views"]
    # As the API docs show: posts that went out, newest first, each with when it was published.
    out = [p for p in posts if p.status == "published" and p.published_at is not None]
    recent = sorted(out, key=lambda p: (p.published_at, p.id), reverse=True)[:10]
    return {
        "summary": {
            "total_posts": len(posts),
            "success_rate": round(100 * published / finished, 1) if finished else None,
        },
        "platforms": platforms,
        "recent_posts": [
            {"post_id": p.id, "status": p.status, "published_at": iso(p.published_at)} for p in recent
        ],
    }
