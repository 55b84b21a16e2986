"""Platform rules, checked at draft time.

SocialDock rejects a post that breaks a platform's rule late (at publish time, after approval) or the
platform silently cuts it. `check_post` catches those problems up front and returns all of them at once,
each naming the platform, the rule, what was measured and how to fix it. Errors block a draft; warnings
are shown in the preview. Sources: `reference/platform-rules.md` and the capability table in
`reference/api-notes.md`. SocialDock's own 400 stays the final word.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol
from urllib.parse import urlsplit

from sdassist.publishing.cap_limits import CAPS
from sdassist.publishing.quoting import shown

__all__ = [
    "LAST_CHECKED",
    "PLATFORM_NAMES",
    "RULES",
    "TIKTOK_PRIVACY",
    "YOUTUBE_PRIVACY",
    "DraftCheck",
    "MediaKind",
    "PlatformRule",
    "Problem",
    "Severity",
    "TargetLike",
    "TextUnit",
    "check_post",
    "describe_rules",
    "media_kind",
    "megabytes",
    "platform_name",
    "rules_as_markdown",
    "text_budget",
    "text_length",
]

#: When the figures in RULES were last compared with the platforms' own docs (they change them).
LAST_CHECKED = "2026-11-20"

TextUnit = Literal["chars", "utf16", "utf8"]
MediaKind = Literal["image", "video", "unknown"]
Severity = Literal["error", "warning"]

_UNIT_NAMES: dict[str, str] = {"chars": "characters", "utf16": "UTF-16 code units", "utf8": "bytes (UTF-8)"}
_IMAGE_EXTENSIONS = frozenset({"jpg", "jpeg", "png", "gif", "webp"})
_VIDEO_EXTENSIONS = frozenset({"mp4", "mov", "webm", "m4v"})
_HASHTAG = re.compile(r"(?<![\w&#])#(\w+)")
_SUBREDDIT = re.compile(r"^r/[A-Za-z0-9][A-Za-z0-9_]{1,20}$")
# LinkedIn's "little text" format treats these as markup; unescaped they can end a post early.
_LINKEDIN_RISKY = "\\|{}@[]()<>#*_~"


@dataclass(frozen=True)
class PlatformRule:
    """What one platform accepts. `None` means no limit we know of (or none worth checking)."""

    platform: str
    text_limit: int | None
    text_unit: TextUnit = "chars"
    media_text_limit: int | None = None  # a smaller limit once media is attached (Telegram captions)
    title_required: bool = False
    title_limit: int | None = None
    images: bool = True
    video: bool = True
    carousel: bool = False  # more than one media item in one post
    max_media: int | None = None
    min_media: int = 0  # media items a post must carry (1 for the video-only platforms)
    requires_video: bool = False  # exactly one video, nothing else
    required_metadata: tuple[str, ...] = ()
    metadata_choices: dict[str, tuple[str, ...]] = field(default_factory=dict)
    hashtag_limit: int | None = None
    fold_at: int | None = None  # text after this many characters is behind "see more"
    text_optional: bool = False  # the text is only a caption (TikTok): empty is fine
    forbidden_chars: str = ""
    posting_cap: str | None = None  # informational; for a cap sdassist counts, filled in from CAPS
    analytics: bool = True
    image_max_mb: float | None = None  # largest image file the platform takes (MB = 1,000,000 bytes)
    video_max_mb: float | None = None
    image_types: tuple[str, ...] | None = None  # image mime types it takes (None: every image type we accept)

    def __post_init__(self) -> None:
        cap = CAPS.get(self.platform)
        if cap is None:
            return
        if self.posting_cap is not None:
            raise ValueError(f"{self.platform}: its posting cap is counted, so its text comes from CAPS")
        object.__setattr__(self, "posting_cap", cap.describe())


_JPEG, _PNG, _GIF = "image/jpeg", "image/png", "image/gif"
TIKTOK_PRIVACY = ("PUBLIC_TO_EVERYONE", "MUTUAL_FOLLOW_FRIENDS", "FOLLOWER_OF_CREATOR", "SELF_ONLY")
YOUTUBE_PRIVACY = ("public", "unlisted", "private")

RULES: dict[str, PlatformRule] = {
    "facebook": PlatformRule("facebook", text_limit=63_206, carousel=True, image_max_mb=10, video_max_mb=1_000),
    "instagram": PlatformRule(
        "instagram", text_limit=2_200, carousel=True, max_media=10, hashtag_limit=5,
        image_max_mb=8, video_max_mb=300, image_types=(_JPEG,),
    ),
    "linkedin": PlatformRule(
        "linkedin", text_limit=3_000, max_media=1, fold_at=210,
        image_max_mb=10, video_max_mb=500, image_types=(_JPEG, _PNG, _GIF),
    ),
    "threads": PlatformRule(
        "threads", text_limit=500, text_unit="utf8", video=False, max_media=1,
        analytics=False, image_max_mb=8, image_types=(_JPEG, _PNG),
    ),
    "tiktok": PlatformRule(
        "tiktok", text_limit=2_200, text_unit="utf16", images=False, max_media=1, min_media=1,
        requires_video=True, required_metadata=("privacy_level",),
        metadata_choices={"privacy_level": TIKTOK_PRIVACY}, text_optional=True,
        posting_cap="account-specific daily cap", video_max_mb=4_000,
    ),
    "reddit": PlatformRule(
        "reddit", text_limit=40_000, title_required=True, title_limit=300, video=False, max_media=1,
        required_metadata=("subreddit",), posting_cap="subreddit-specific", analytics=False, image_max_mb=20,
    ),
    "telegram": PlatformRule(
        "telegram", text_limit=4_096, text_unit="utf16", media_text_limit=1_024, max_media=1,
        posting_cap="20 messages per minute per group", analytics=False, image_max_mb=5, video_max_mb=20,
    ),
    "youtube": PlatformRule(
        "youtube", text_limit=5_000, text_unit="utf8", title_required=True, title_limit=100,
        images=False, max_media=1, min_media=1, requires_video=True,
        metadata_choices={"privacy": YOUTUBE_PRIVACY}, forbidden_chars="<>",
        posting_cap="daily upload quota", video_max_mb=256_000,
    ),
}


#: How each platform is written for people (Slack cards, the confirmation page, chart labels).
PLATFORM_NAMES: dict[str, str] = {
    "facebook": "Facebook", "instagram": "Instagram", "linkedin": "LinkedIn", "threads": "Threads",
    "tiktok": "TikTok", "reddit": "Reddit", "telegram": "Telegram", "youtube": "YouTube",
}


def platform_name(slug: str | None) -> str:
    """The platform's name as people write it; an unknown slug as given ("?" for none)."""
    return PLATFORM_NAMES.get(slug or "", slug or "?")


@dataclass(frozen=True)
class Problem:
    """One broken rule. `message` is a whole sentence a person can act on, fix included."""

    platform: str
    rule: str
    severity: Severity
    measured: str | int | None
    limit: str | int | None
    message: str


@dataclass(frozen=True)
class DraftCheck:
    """Every problem found in a draft; only errors block it."""

    problems: tuple[Problem, ...] = ()

    @property
    def errors(self) -> tuple[Problem, ...]:
        return tuple(p for p in self.problems if p.severity == "error")

    @property
    def warnings(self) -> tuple[Problem, ...]:
        return tuple(p for p in self.problems if p.severity == "warning")

    @property
    def ok(self) -> bool:
        return not self.errors


class TargetLike(Protocol):
    """Anything naming a platform and its metadata, e.g. `sdassist.client.models.Target`."""

    @property
    def platform(self) -> str: ...

    @property
    def metadata(self) -> Mapping[str, Any] | None: ...


def media_kind(url: str, mime_type: str | None = None) -> MediaKind:
    """Image or video, from the upload's mime type when known, else from the URL's file extension."""
    if mime_type:
        major = mime_type.split("/", 1)[0].strip().lower()
        if major in ("image", "video"):
            return major  # type: ignore[return-value]
    path = urlsplit(url).path
    ext = path.rsplit(".", 1)[-1].lower() if "." in path.rsplit("/", 1)[-1] else ""
    if ext in _IMAGE_EXTENSIONS:
        return "image"
    if ext in _VIDEO_EXTENSIONS:
        return "video"
    return "unknown"


def text_length(text: str, unit: TextUnit) -> int:
    """Length as the platform counts it: "🚀" is 1 char, 2 UTF-16 units, 4 UTF-8 bytes."""
    if unit == "chars":
        return len(text)
    if unit == "utf16":
        return len(text.encode("utf-16-le")) // 2
    if unit == "utf8":
        return len(text.encode("utf-8"))
    raise ValueError(f"unknown text unit {unit!r}: use chars, utf16 or utf8")


def text_budget(platform: str, text: str, *, has_media: bool) -> tuple[int, int | None, str]:
    """(length as the platform counts it, its limit or None, the unit in words), for showing a person."""
    rule = RULES.get(platform)
    if rule is None:
        return len(text), None, _UNIT_NAMES["chars"]
    limit = rule.media_text_limit if has_media and rule.media_text_limit is not None else rule.text_limit
    return text_length(text, rule.text_unit), limit, _UNIT_NAMES[rule.text_unit]


def _n(value: int) -> str:
    return f"{value:,}"


def _plural(count: int, word: str) -> str:
    return f"{_n(count)} {word}" if count == 1 else f"{_n(count)} {word}s"


def _hashtags(text: str, tags: Sequence[str]) -> list[str]:
    """Distinct hashtags in the text and the tags list, case-insensitive, in order of appearance."""
    seen: dict[str, None] = {}
    for tag in [*_HASHTAG.findall(text), *(t.lstrip("#") for t in tags)]:
        if tag.strip():
            seen.setdefault(tag.strip().lower(), None)
    return list(seen)


def unclosed_markdown(text: str) -> tuple[str, int] | None:
    """The first Markdown entity Telegram could not parse, as (its mark, its 1-based position), else None.

    Telegram's Markdown: `*bold*`, `_italic_`, `` `code` ``, ```` ```pre``` ````, `[text](url)`; entities do not
    nest, so an entity's text is skipped whole, and `\\` escapes the next character. A warning, not a refusal:
    SocialDock says it "supports Markdown" without naming the dialect."""
    i = 0
    while i < len(text):
        if text[i] == "\\":
            i += 2
            continue
        mark = "```" if text.startswith("```", i) else text[i]
        closer = {"*": "*", "_": "_", "`": "`", "```": "```", "[": "]"}.get(mark)
        if closer is None:
            i += 1
            continue
        end = text.find(closer, i + len(mark))
        if end < 0:
            return mark, i + 1
        i = end + len(closer)
    return None


class _Checker:
    """Collects the problems of one target; a small class so each rule reads as one method."""

    def __init__(self, rule: PlatformRule) -> None:
        self.rule = rule
        self.problems: list[Problem] = []

    def add(self, rule: str, severity: Severity, measured: str | int | None, limit: str | int | None,
            message: str) -> None:
        self.problems.append(Problem(self.rule.platform, rule, severity, measured, limit,
                                     f"{self.rule.platform}: {message}"))

    def text(self, text: str, has_media: bool) -> None:
        r = self.rule
        if not text.strip():
            if not r.text_optional:
                self.add("text_required", "error", 0, None, "text is empty: write the post text")
            return
        limit, rule_name, what = r.text_limit, "text_limit", "text"
        if has_media and r.media_text_limit is not None:
            limit, rule_name = r.media_text_limit, "caption_limit"
            what = "text (a caption, as media is attached)"
        if limit is not None:
            self._within(rule_name, what, text_length(text, r.text_unit), limit, _UNIT_NAMES[r.text_unit])
        self._allowed_chars("text", text)
        if r.fold_at is not None and len(text) > r.fold_at:
            self.add("fold", "warning", len(text), r.fold_at,
                     f"text is {_n(len(text))} characters; only about the first {_n(r.fold_at)} show "
                     "before \"see more\": put the point of the post first")
        if r.platform == "telegram" and (open_at := unclosed_markdown(text)) is not None:
            mark, position = open_at
            self.add("markdown", "warning", mark, None,
                     f"text has a {mark} at character {_n(position)} that is never closed: Telegram refuses "
                     f"Markdown it cannot parse, at publish time; close it, or write \\{mark} for the character")
        if r.platform == "linkedin":
            without_tags = _HASHTAG.sub("", text)
            risky = sorted({c for c in without_tags if c in _LINKEDIN_RISKY})
            if risky:
                chars = " ".join(risky)
                self.add("risky_chars", "warning", chars, None,
                         f"text contains {chars}, which can cut a LinkedIn post short when not escaped: "
                         "check the published post, or remove them")

    def title(self, title: str | None) -> None:
        r = self.rule
        if not r.title_required:
            return
        if title is None or not title.strip():
            limit = f" (at most {_plural(r.title_limit, 'character')})" if r.title_limit else ""
            self.add("title_required", "error", None, r.title_limit,
                     f"a title is required: add one{limit}")
            return
        if r.title_limit is not None:
            self._within("title_limit", "title", len(title), r.title_limit, "characters")
        self._allowed_chars("title", title)

    def _within(self, rule_name: str, what: str, length: int, limit: int, unit: str) -> None:
        if length > limit:
            self.add(rule_name, "error", length, limit,
                     f"{what} is {_n(length)} {unit}, the limit is {_n(limit)}: shorten by {_n(length - limit)}")

    def _allowed_chars(self, what: str, value: str) -> None:
        found = sorted({c for c in value if c in self.rule.forbidden_chars})
        if found:
            chars = " ".join(found)
            self.add("forbidden_chars", "error", chars, self.rule.forbidden_chars,
                     f"{what} contains {chars}, which {self.rule.platform} does not allow: remove or replace them")

    def media_files(self, kinds: Sequence[tuple[str, MediaKind]], types: Mapping[str, str],
                    sizes: Mapping[str, int]) -> None:
        """File type and size, where known (files sdassist stored itself; a bare URL's size is not known)."""
        r = self.rule
        for url, kind in kinds:
            name = _file_name(url)
            mime = (types.get(url) or "").lower()
            if kind == "image" and mime and r.image_types is not None and mime not in r.image_types:
                allowed = ", ".join(t.split("/", 1)[1].upper() for t in r.image_types)
                self.add("media_format", "error", mime, allowed,
                         f"{name} is {mime}, images must be {allowed}: convert it and attach it again")
            limit_mb = r.image_max_mb if kind == "image" else r.video_max_mb if kind == "video" else None
            size = sizes.get(url)
            if size is not None and limit_mb is not None and size > limit_mb * 1_000_000:
                self.add("media_size", "error", size, int(limit_mb * 1_000_000),
                         f"{name} is {megabytes(size)}, the limit for {'an image' if kind == 'image' else 'a video'}"
                         f" is {megabytes(int(limit_mb * 1_000_000))}: make it smaller")

    def media(self, kinds: Sequence[tuple[str, MediaKind]]) -> None:
        r = self.rule
        count = len(kinds)
        images = [u for u, k in kinds if k == "image"]
        videos = [u for u, k in kinds if k == "video"]
        for url, kind in kinds:
            if kind == "unknown":
                self.add("media_type", "warning", url, None,
                         f"cannot tell whether {url} is an image or a video: use a URL ending in "
                         ".jpg/.png/.gif/.webp or .mp4/.mov/.webm/.m4v, or upload it first")
        if images and not r.images:
            self.add("media_kind", "error", "image", "video" if r.video else None,
                     f"images are not supported ({_plural(len(images), 'image')} attached): "
                     + ("attach a video instead" if r.video else "remove them"))
        if videos and not r.video:
            self.add("media_kind", "error", "video", "image" if r.images else None,
                     f"video is not supported ({_plural(len(videos), 'video')} attached): "
                     + ("attach images instead" if r.images else "remove it"))
        if r.requires_video:
            if count == 0:
                self.add("video_required", "error", 0, 1, "a video is required: attach exactly one video")
            elif count > 1:
                self.add("video_count", "error", count, 1,
                         f"exactly one video is allowed, {_n(count)} media items are attached: "
                         f"remove {_n(count - 1)}")
            return
        if count > 1 and not r.carousel:
            self.add("carousel", "error", count, 1,
                     f"{_n(count)} media items are attached but multi-item posts (carousels) are not "
                     f"supported: keep one, or post the rest separately")
        elif r.max_media is not None and count > r.max_media:
            self.add("max_media", "error", count, r.max_media,
                     f"{_n(count)} media items are attached, the limit is {_n(r.max_media)}: "
                     f"remove {_n(count - r.max_media)}")
        if count == 0 and r.platform == "instagram":
            self.add("media_missing", "warning", 0, None,
                     "a text-only post: Instagram is media-first and the post may not show well; "
                     "attach an image or a video")

    def metadata(self, metadata: Mapping[str, Any]) -> None:
        r = self.rule
        for key in r.required_metadata:
            value = metadata.get(key)
            if value is None or (isinstance(value, str) and not value.strip()):
                choices = r.metadata_choices.get(key)
                fix = f"set it to one of {', '.join(choices)}" if choices else _metadata_example(r, key)
                self.add("metadata_required", "error", None, key, f"metadata.{key} is required: {fix}")
        for key, choices in r.metadata_choices.items():
            value = metadata.get(key)
            if value is None:
                if key not in r.required_metadata and r.platform == "youtube" and key == "privacy":
                    self.add("metadata_default", "warning", None, key,
                             "metadata.privacy is not set, so the video will be public: "
                             "set it to public, unlisted or private to choose")
                continue
            if value not in choices:
                self.add("metadata_invalid", "error", str(value), ", ".join(choices),
                         f"metadata.{key} is {shown(str(value))}: use one of {', '.join(choices)}")
        if r.platform == "reddit":
            sub = metadata.get("subreddit")
            if isinstance(sub, str) and sub.strip() and not _SUBREDDIT.match(sub.strip()):
                name = sub.strip().removeprefix("/").removeprefix("r/").strip("/")
                hint = f"e.g. r/{name}" if re.fullmatch(r"[A-Za-z0-9_]{2,21}", name) else "e.g. r/programming"
                self.add("metadata_invalid", "error", sub, "r/name",
                         f"metadata.subreddit is {shown(sub)}: write it as r/name ({hint})")

    def hashtags(self, text: str, tags: Sequence[str]) -> None:
        r = self.rule
        found = _hashtags(text, tags)
        if r.hashtag_limit is not None and len(found) > r.hashtag_limit:
            self.add("hashtag_limit", "warning", len(found), r.hashtag_limit,
                     f"{_n(len(found))} hashtags (text and tags), {r.platform} allows "
                     f"{_n(r.hashtag_limit)}: remove {_n(len(found) - r.hashtag_limit)}")
        if r.platform == "threads" and len(found) > 1:
            self.add("topic_tags", "warning", len(found), 1,
                     f"{_n(len(found))} topic tags; Threads uses one per post: keep the most relevant one")


def _file_name(url: str) -> str:
    return urlsplit(url).path.rsplit("/", 1)[-1] or url


def megabytes(size: float) -> str:
    """A size in bytes as people read it: "12.3 MB" (MB = 1,000,000 bytes, as the platforms count)."""
    return f"{size / 1_000_000:,.1f} MB"


def _metadata_example(rule: PlatformRule, key: str) -> str:
    if rule.platform == "reddit" and key == "subreddit":
        return "name the subreddit as r/name, e.g. r/programming"
    return "add it to the target's metadata"


def check_post(
    *,
    text: str,
    title: str | None,
    targets: Sequence[TargetLike],
    media_urls: Sequence[str] = (),
    tags: Sequence[str] = (),
    media_types: Mapping[str, str] | None = None,
    media_sizes: Mapping[str, int] | None = None,
) -> DraftCheck:
    """Check a draft against every target's platform rules and return every problem at once.

    Decisions where the docs leave room: YouTube's `metadata.privacy` is optional (a warning says the
    video will be public) but must be valid when given; TikTok's `metadata.privacy_level` and Reddit's
    `metadata.subreddit` are required (errors). A media item of unknown type is a warning and is not
    counted as an image or a video. `media_types` and `media_sizes` (by URL) are known for files sdassist
    stored itself: their format and size are checked too. Problems repeated by several targets on one
    platform appear once.
    """
    types = media_types or {}
    kinds = [(url, media_kind(url, types.get(url))) for url in media_urls]
    problems: dict[Problem, None] = {}
    for target in targets:
        platform = str(target.platform)
        rule = RULES.get(platform)
        if rule is None:
            problems.setdefault(Problem(platform, "platform", "error", platform, None,
                                        f"{platform}: not a SocialDock platform: use one of "
                                        f"{', '.join(RULES)}"), None)
            continue
        checker = _Checker(rule)
        checker.text(text, has_media=bool(kinds))
        checker.title(title)
        checker.media(kinds)
        checker.media_files(kinds, types, media_sizes or {})
        checker.metadata(target.metadata or {})
        checker.hashtags(text, tags)
        for problem in checker.problems:
            problems.setdefault(problem, None)
    return DraftCheck(tuple(problems))


def _yes(flag: bool) -> str:
    return "yes" if flag else "no"


def describe_rules(platform: str) -> str:
    """One platform's rules as short readable text (for previews and the MCP rules resource)."""
    r = RULES.get(platform)
    if r is None:
        raise KeyError(f"unknown platform {platform!r}: use one of {', '.join(RULES)}")
    lines = [f"{platform}:"]
    if r.text_limit is not None:
        text = f"text up to {_n(r.text_limit)} {_UNIT_NAMES[r.text_unit]}"
        if r.media_text_limit is not None:
            text += f" ({_n(r.media_text_limit)} as a caption when media is attached)"
        if r.text_optional:
            text += "; optional (a caption)"
        lines.append(f"- {text}")
    if r.title_required:
        lines.append(f"- title required, up to {_n(r.title_limit or 0)} characters")
    media = [k for k, on in (("images", r.images), ("video", r.video)) if on]
    media_line = f"- media: {', '.join(media) or 'none'}"
    if r.requires_video:
        media_line += "; exactly one video required"
    elif r.carousel:
        media_line += f"; carousel up to {_n(r.max_media)} items" if r.max_media else "; carousel"
    else:
        media_line += "; one item per post (no carousel)"
    lines.append(media_line)
    sizes = [f"{k} up to {_n(int(mb))} MB" for k, mb in (("images", r.image_max_mb), ("video", r.video_max_mb))
             if mb and (r.images if k == "images" else r.video)]
    if r.image_types and r.images:
        sizes.append("images as " + "/".join(t.split("/", 1)[1].upper() for t in r.image_types))
    if sizes:
        lines.append(f"- media files: {', '.join(sizes)}")
    for key in r.required_metadata:
        choices = r.metadata_choices.get(key)
        lines.append(f"- metadata.{key} required" + (f": {' | '.join(choices)}" if choices else ""))
    for key, choices in r.metadata_choices.items():
        if key not in r.required_metadata:
            lines.append(f"- metadata.{key} optional: {' | '.join(choices)}")
    if r.platform == "reddit":
        lines.append("- metadata.subreddit as r/name, e.g. r/programming")
    if r.forbidden_chars:
        lines.append(f"- no {' or '.join(r.forbidden_chars)} in text or title")
    if r.hashtag_limit is not None:
        lines.append(f"- at most {r.hashtag_limit} hashtags")
    if r.fold_at is not None:
        lines.append(f"- about the first {r.fold_at} characters show before \"see more\"")
    if r.posting_cap:
        lines.append(f"- posting cap: {r.posting_cap}")
    lines.append(f"- analytics: {_yes(r.analytics)}")
    return "\n".join(lines)


def _cell(text: str) -> str:
    return text.replace("|", "\\|") or "–"


def rules_as_markdown() -> str:
    """All rules as a Markdown table, with the date they were last checked."""
    head = ("| Platform | Text limit | Title | Images | Video | Carousel | Required metadata | Notes |\n"
            "|---|---|---|---|---|---|---|---|")
    rows = []
    for r in RULES.values():
        limit = "–" if r.text_limit is None else f"{_n(r.text_limit)} {_UNIT_NAMES[r.text_unit]}"
        if r.media_text_limit is not None:
            limit += f" ({_n(r.media_text_limit)} with media)"
        if r.text_optional:
            limit += ", optional"
        title = f"required, ≤ {_n(r.title_limit)}" if r.title_required and r.title_limit else "–"
        carousel = f"yes, ≤ {r.max_media}" if r.carousel and r.max_media else _yes(r.carousel)
        if r.requires_video:
            carousel = "no (exactly one video)"
        meta = [f"{k} ({' / '.join(r.metadata_choices[k])})" if k in r.metadata_choices else k
                for k in r.required_metadata]
        if r.platform == "reddit":
            meta = ["subreddit (r/name)"]
        notes = []
        if r.forbidden_chars:
            notes.append(f"no {' '.join(r.forbidden_chars)}")
        if r.hashtag_limit is not None:
            notes.append(f"≤ {r.hashtag_limit} hashtags")
        if r.fold_at is not None:
            notes.append(f"\"see more\" fold at ~{r.fold_at} chars")
        if r.platform == "linkedin":
            notes.append(f"{' '.join(_LINKEDIN_RISKY)} may cut a post short")
        if r.platform == "threads":
            notes.append("one topic tag per post")
        notes.extend(f"optional {k}: {' / '.join(c)}" for k, c in r.metadata_choices.items()
                     if k not in r.required_metadata)
        if r.image_max_mb and r.images:
            notes.append(f"images ≤ {_n(int(r.image_max_mb))} MB")
        if r.image_types and r.images:
            notes.append("images " + "/".join(t.split("/", 1)[1].upper() for t in r.image_types))
        if r.video_max_mb and r.video:
            notes.append(f"video ≤ {_n(int(r.video_max_mb))} MB")
        if r.posting_cap:
            notes.append(f"cap: {r.posting_cap}")
        rows.append(f"| {r.platform} | {limit} | {title} | {_yes(r.images)} | {_yes(r.video)} | {carousel} "
                    f"| {', '.join(meta) or '–'} | {_cell('; '.join(notes))} |")
    return (f"# Platform rules (last checked {LAST_CHECKED})\n\n{head}\n" + "\n".join(rows)
            + "\n\nErrors block a draft; warnings are shown in the preview. "
            "SocialDock's own answer is final.\n")
