"""What SocialDock accepts per platform: the capability table, required fields and text limits.

Figures come from api-notes.md (capabilities) and platform-rules.md (limits, stricter value).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

PLATFORMS: tuple[str, ...] = (
    "facebook", "instagram", "linkedin", "threads", "tiktok", "reddit", "telegram", "youtube",
)
IMAGE_EXTENSIONS = {"jpg": "image/jpeg", "jpeg": "image/jpeg", "png": "image/png", "gif": "image/gif",
                    "webp": "image/webp"}
VIDEO_EXTENSIONS = {"mp4": "video/mp4", "mov": "video/quicktime", "webm": "video/webm", "m4v": "video/x-m4v"}
MIME_BY_EXTENSION = {**IMAGE_EXTENSIONS, **VIDEO_EXTENSIONS}
NO_ANALYTICS = frozenset({"threads", "reddit", "telegram"})


def _chars(text: str) -> int:
    return len(text)


def _utf16(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _utf8(text: str) -> int:
    return len(text.encode("utf-8"))


@dataclass(frozen=True)
class Capability:
    images: bool
    video: bool
    carousel: bool
    text_limit: int
    unit: str
    counter: Callable[[str], int]
    title_limit: int | None = None
    max_media: int | None = None


CAPABILITIES: dict[str, Capability] = {
    "facebook": Capability(True, True, True, 63206, "characters", _chars),
    "instagram": Capability(True, True, True, 2200, "characters", _chars, max_media=10),
    "linkedin": Capability(True, True, False, 3000, "characters", _chars),
    "threads": Capability(True, False, False, 500, "UTF-8 bytes", _utf8),
    "tiktok": Capability(False, True, False, 2200, "UTF-16 units", _utf16),
    "reddit": Capability(True, False, False, 40000, "characters", _chars, title_limit=300),
    "telegram": Capability(True, True, False, 4096, "UTF-16 units", _utf16),
    "youtube": Capability(False, True, False, 5000, "UTF-8 bytes", _utf8, title_limit=100),
}
TELEGRAM_CAPTION_LIMIT = 1024
ENUMS = {
    ("youtube", "privacy"): ("public", "unlisted", "private"),
    ("tiktok", "privacy_level"): ("PUBLIC_TO_EVERYONE", "MUTUAL_FOLLOW_FRIENDS", "FOLLOWER_OF_CREATOR",
                                  "SELF_ONLY"),
}


def extension_of(url: str) -> str:
    path = urlsplit(url).path
    name = path.rsplit("/", 1)[-1]
    return name.rsplit(".", 1)[-1].lower() if "." in name else ""


def is_http_url(url: object) -> bool:
    if not isinstance(url, str):
        return False
    parts = urlsplit(url)
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def media_kind(mime_type: str | None) -> str | None:
    """`image`, `video` or None (unknown) from a mime type."""
    if mime_type is None:
        return None
    head = mime_type.split("/", 1)[0]
    return head if head in ("image", "video") else None


def check_target_content(
    platform: str,
    text: str,
    title: str | None,
    kinds: list[str | None],
    metadata: dict,
) -> list[str]:
    """Every problem of one target, each phrased as what to change."""
    cap = CAPABILITIES[platform]
    problems: list[str] = []
    images = kinds.count("image")
    videos = kinds.count("video")
    if images and not cap.images:
        problems.append(f"{platform}: images are not supported, remove the {images} image(s)")
    if videos and not cap.video:
        problems.append(f"{platform}: video is not supported, remove the {videos} video(s)")
    if len(kinds) > 1 and not cap.carousel:
        problems.append(f"{platform}: carousels are not supported, attach at most one media item "
                        f"({len(kinds)} given)")
    if cap.max_media is not None and len(kinds) > cap.max_media:
        problems.append(f"{platform}: at most {cap.max_media} media items ({len(kinds)} given)")
    if platform == "youtube" and videos == 0:
        problems.append("youtube: a video is required (media_urls must contain one video)")
    if platform == "tiktok" and videos != 1:
        problems.append(f"tiktok: exactly one video is required ({videos} given)")
    if platform in ("youtube", "reddit") and not (isinstance(title, str) and title.strip()):
        problems.append(f"{platform}: title is required")
    if cap.title_limit is not None and isinstance(title, str) and len(title) > cap.title_limit:
        problems.append(f"{platform}: title is {len(title)} characters, the limit is {cap.title_limit}")
    if platform == "reddit":
        subreddit = metadata.get("subreddit")
        if not (isinstance(subreddit, str) and subreddit.strip()):
            problems.append("reddit: metadata.subreddit is required (e.g. r/programming)")
    limit = cap.text_limit
    if platform == "telegram" and kinds:
        limit = TELEGRAM_CAPTION_LIMIT
    size = cap.counter(text)
    if size > limit:
        problems.append(f"{platform}: text is {size} {cap.unit}, the limit is {limit}"
                        f"{' with media attached' if limit == TELEGRAM_CAPTION_LIMIT else ''}: "
                        f"shorten by {size - limit}")
    if platform == "youtube" and ("<" in text or ">" in text):
        problems.append("youtube: text must not contain < or >")
    for (plat, key), allowed in ENUMS.items():
        if plat == platform and key in metadata and metadata[key] not in allowed:
            problems.append(f"{platform}: metadata.{key} must be one of {', '.join(allowed)}")
    return problems
