"""Platform rules: what each platform accepts, and that every problem says how to fix it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from sdassist.client.models import PLATFORMS, Target
from sdassist.publishing.platforms import (
    LAST_CHECKED,
    RULES,
    DraftCheck,
    Problem,
    check_post,
    describe_rules,
    media_kind,
    rules_as_markdown,
    text_length,
)

IMG = "https://cdn.example.com/a.jpg"
IMG2 = "https://cdn.example.com/b.png"
VID = "https://cdn.example.com/clip.mp4"
GOOD_META: dict[str, dict[str, Any]] = {
    "tiktok": {"privacy_level": "PUBLIC_TO_EVERYONE"},
    "reddit": {"subreddit": "r/programming"},
    "youtube": {"privacy": "unlisted"},
}


@dataclass
class T:
    """A minimal TargetLike: only .platform and .metadata."""

    platform: str
    metadata: dict[str, Any] | None = None


def target(platform: str, **meta: Any) -> T:
    return T(platform, {**GOOD_META.get(platform, {}), **meta})


def valid_post(platform: str) -> dict[str, Any]:
    """A post that passes every error rule for one platform."""
    media = {"tiktok": [VID], "youtube": [VID]}.get(platform, [IMG])
    title = "A title" if RULES[platform].title_required else None
    return {"text": "Hello world", "title": title, "targets": [target(platform)], "media_urls": media}


def check(platform: str, **changes: Any) -> DraftCheck:
    return check_post(**{**valid_post(platform), **changes})


def rules_of(result: DraftCheck, severity: str = "error") -> list[str]:
    return [p.rule for p in result.problems if p.severity == severity]


# --- the table ----------------------------------------------------------------------------------------

def test_rules_cover_exactly_the_socialdock_platforms() -> None:
    assert tuple(RULES) == PLATFORMS
    assert all(rule.platform == name for name, rule in RULES.items())
    assert LAST_CHECKED.startswith("2026-11-")


def test_capabilities_follow_the_socialdock_table() -> None:
    table = {  # images, video, carousel, analytics  (api-notes.md)
        "facebook": (True, True, True, True),
        "instagram": (True, True, True, True),
        "linkedin": (True, True, False, True),
        "threads": (True, False, False, False),
        "tiktok": (False, True, False, True),
        "reddit": (True, False, False, False),
        "telegram": (True, True, False, False),
        "youtube": (False, True, False, True),
    }
    for name, (images, video, carousel, analytics) in table.items():
        r = RULES[name]
        assert (r.images, r.video, r.carousel, r.analytics) == (images, video, carousel, analytics), name


@pytest.mark.parametrize("platform", PLATFORMS)
def test_a_valid_post_passes_everywhere(platform: str) -> None:
    result = check(platform)
    assert result.ok, result.errors
    assert result.errors == ()


def test_works_with_the_client_target_model() -> None:
    result = check_post(text="Hi", title=None, targets=[Target(platform="linkedin", account_id="acc_1")])
    assert result.ok and result.problems == ()


# --- text length, in each platform's unit ---------------------------------------------------------------

def test_text_units_count_a_rocket_as_1_2_and_4() -> None:
    assert text_length("🚀", "chars") == 1
    assert text_length("🚀", "utf16") == 2
    assert text_length("🚀", "utf8") == 4
    assert text_length("é", "utf8") == 2
    with pytest.raises(ValueError):
        text_length("x", "bytes")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("platform", "limit"),
    [("facebook", 63_206), ("instagram", 2_200), ("linkedin", 3_000), ("threads", 500),
     ("tiktok", 2_200), ("reddit", 40_000), ("telegram", 4_096), ("youtube", 5_000)],
)
def test_text_limit_boundary(platform: str, limit: int) -> None:
    media = [] if platform == "telegram" else valid_post(platform)["media_urls"]
    assert "text_limit" not in rules_of(check(platform, text="a" * limit, media_urls=media))
    over = check(platform, text="a" * (limit + 1), media_urls=media)
    [problem] = [p for p in over.errors if p.rule == "text_limit"]
    assert problem.measured == limit + 1 and problem.limit == limit
    assert problem.message.endswith(f"the limit is {limit:,}: shorten by 1")


def test_linkedin_message_names_the_numbers_with_separators_and_the_fix() -> None:
    [problem] = check("linkedin", text="x" * 3_412).errors
    assert problem == Problem(
        "linkedin", "text_limit", "error", 3_412, 3_000,
        "linkedin: text is 3,412 characters, the limit is 3,000: shorten by 412",
    )


@pytest.mark.parametrize(
    ("platform", "emoji_fit", "emoji_over"),
    [
        ("threads", 125, 126),  # 4 bytes each: 500 bytes
        ("telegram", 2_048, 2_049),  # 2 UTF-16 units each: 4,096 units
        ("tiktok", 1_100, 1_101),
        ("linkedin", 3_000, 3_001),  # code points
    ],
)
def test_emoji_are_counted_in_the_platform_unit(platform: str, emoji_fit: int, emoji_over: int) -> None:
    media = [] if platform == "telegram" else valid_post(platform)["media_urls"]
    assert "text_limit" not in rules_of(check(platform, text="🚀" * emoji_fit, media_urls=media))
    assert "text_limit" in rules_of(check(platform, text="🚀" * emoji_over, media_urls=media))


def test_threads_message_speaks_of_bytes() -> None:
    [problem] = check("threads", text="🚀" * 130).errors
    assert problem.message == "threads: text is 520 bytes (UTF-8), the limit is 500: shorten by 20"


def test_telegram_caption_limit_applies_only_with_media() -> None:
    assert check("telegram", text="a" * 4_096, media_urls=[]).ok
    assert check("telegram", text="a" * 1_024, media_urls=[IMG]).ok
    [problem] = check("telegram", text="a" * 1_025, media_urls=[IMG]).errors
    assert (problem.rule, problem.measured, problem.limit) == ("caption_limit", 1_025, 1_024)
    assert "caption" in problem.message and "shorten by 1" in problem.message


@pytest.mark.parametrize("platform", [p for p in PLATFORMS if p != "tiktok"])
@pytest.mark.parametrize("text", ["", "   \n"])
def test_text_is_required_except_on_tiktok(platform: str, text: str) -> None:
    [problem] = [p for p in check(platform, text=text).errors]
    assert problem.rule == "text_required"
    assert "write the post text" in problem.message


def test_tiktok_text_is_an_optional_caption() -> None:
    assert check("tiktok", text="").problems == ()


def test_youtube_refuses_angle_brackets_in_text_and_title() -> None:
    result = check("youtube", text="a <b> c", title="x > y")
    found = [(p.rule, p.measured) for p in result.errors]
    assert found == [("forbidden_chars", "< >"), ("forbidden_chars", ">")]
    assert all("remove or replace" in p.message for p in result.errors)
    assert check("facebook", text="a <b> c").ok


# --- titles ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("platform", "limit"), [("youtube", 100), ("reddit", 300)])
def test_title_required_and_limited(platform: str, limit: int) -> None:
    for missing in (None, "", "  "):
        [problem] = check(platform, title=missing).errors
        assert problem.rule == "title_required"
        assert f"add one (at most {limit} characters)" in problem.message
    assert check(platform, title="t" * limit).ok
    [problem] = check(platform, title="t" * (limit + 1)).errors
    assert (problem.rule, problem.measured, problem.limit) == ("title_limit", limit + 1, limit)
    assert problem.message.endswith("shorten by 1")


def test_title_is_not_required_elsewhere() -> None:
    assert check("facebook", title=None).ok


# --- media ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("url", "mime", "kind"),
    [
        ("https://x.io/a.JPG", None, "image"),
        ("https://x.io/a.jpeg?w=100#top", None, "image"),
        ("https://x.io/a.webp", None, "image"),
        ("https://x.io/a.gif", None, "image"),
        ("https://x.io/v.MOV", None, "video"),
        ("https://x.io/v.m4v", None, "video"),
        ("https://x.io/v.webm", None, "video"),
        ("https://x.io/file", None, "unknown"),
        ("https://x.io/v.mp4/", None, "unknown"),
        ("https://x.io.jpg/file", None, "unknown"),
        ("https://x.io/file", "video/mp4", "video"),
        ("https://x.io/file.mp4", "image/png", "image"),  # the upload's mime type wins
        ("https://x.io/file.mp4", "application/octet-stream", "video"),
    ],
)
def test_media_kind(url: str, mime: str | None, kind: str) -> None:
    assert media_kind(url, mime) == kind


@pytest.mark.parametrize(
    ("platform", "media", "rule"),
    [
        ("tiktok", [IMG], "media_kind"),
        ("youtube", [IMG], "media_kind"),
        ("threads", [VID], "media_kind"),
        ("reddit", [VID], "media_kind"),
    ],
)
def test_unsupported_media_kind(platform: str, media: list[str], rule: str) -> None:
    result = check(platform, media_urls=media)
    assert rule in rules_of(result)
    [problem] = [p for p in result.errors if p.rule == rule]
    assert "not supported" in problem.message
    assert ("attach a video instead" in problem.message) or ("attach images instead" in problem.message)


@pytest.mark.parametrize("platform", ["tiktok", "youtube"])
def test_video_platforms_need_exactly_one_video(platform: str) -> None:
    [problem] = check(platform, media_urls=[]).errors
    assert problem.rule == "video_required" and "attach exactly one video" in problem.message
    [problem] = check(platform, media_urls=[VID, VID.replace("clip", "other")]).errors
    assert (problem.rule, problem.measured) == ("video_count", 2)
    assert problem.message.endswith("remove 1")


@pytest.mark.parametrize("platform", ["linkedin", "threads", "reddit", "telegram"])
def test_no_carousel(platform: str) -> None:
    [problem] = check(platform, media_urls=[IMG, IMG2]).errors
    assert (problem.rule, problem.measured, problem.limit) == ("carousel", 2, 1)
    assert "keep one" in problem.message


def test_instagram_carousel_up_to_ten() -> None:
    ten = [f"https://x.io/{i}.jpg" for i in range(10)]
    assert check("instagram", media_urls=ten).ok
    [problem] = check("instagram", media_urls=[*ten, VID]).errors
    assert (problem.rule, problem.measured, problem.limit) == ("max_media", 11, 10)
    assert problem.message.endswith("remove 1")
    assert check("facebook", media_urls=[*ten, VID]).ok


def test_known_mime_type_overrides_the_extension() -> None:
    url = "https://x.io/upload/123"
    assert check("youtube", media_urls=[url], media_types={url: "video/mp4"}).problems == ()
    result = check("threads", media_urls=[url], media_types={url: "video/mp4"})
    assert rules_of(result) == ["media_kind"]


def test_unknown_media_type_is_a_warning_not_an_error() -> None:
    url = "https://x.io/thing"
    result = check("facebook", media_urls=[url])
    assert result.ok
    [warning] = result.warnings
    assert (warning.rule, warning.measured) == ("media_type", url)
    assert "upload it first" in warning.message


# --- metadata -------------------------------------------------------------------------------------------

def test_reddit_needs_a_subreddit_in_r_slash_form() -> None:
    [problem] = check("reddit", targets=[T("reddit", None)]).errors
    assert (problem.rule, problem.limit) == ("metadata_required", "subreddit")
    assert "r/programming" in problem.message
    [problem] = check("reddit", targets=[target("reddit", subreddit="python")]).errors
    assert problem.rule == "metadata_invalid"
    assert problem.message == "reddit: metadata.subreddit is 'python': write it as r/name (e.g. r/python)"
    assert check("reddit", targets=[target("reddit", subreddit="r/Python_3")]).ok


def test_tiktok_privacy_level_is_required_and_checked() -> None:
    [problem] = check("tiktok", targets=[T("tiktok", {})]).errors
    assert problem.rule == "metadata_required"
    assert "PUBLIC_TO_EVERYONE, MUTUAL_FOLLOW_FRIENDS, FOLLOWER_OF_CREATOR, SELF_ONLY" in problem.message
    [problem] = check("tiktok", targets=[target("tiktok", privacy_level="public")]).errors
    assert (problem.rule, problem.measured) == ("metadata_invalid", "public")
    for level in ("MUTUAL_FOLLOW_FRIENDS", "FOLLOWER_OF_CREATOR", "SELF_ONLY"):
        assert check("tiktok", targets=[target("tiktok", privacy_level=level)]).ok


def test_youtube_privacy_defaults_to_public_with_a_warning_and_must_be_valid() -> None:
    result = check("youtube", targets=[T("youtube", None)])
    assert result.ok
    [warning] = result.warnings
    assert warning.rule == "metadata_default" and "will be public" in warning.message
    [problem] = check("youtube", targets=[target("youtube", privacy="secret")]).errors
    assert problem.message == "youtube: metadata.privacy is 'secret': use one of public, unlisted, private"


# --- warnings -------------------------------------------------------------------------------------------

def test_instagram_hashtags_count_text_and_tags_together() -> None:
    five = check("instagram", text="#a #b #c go", tags=["d", "#e", "A"])
    assert five.problems == ()
    six = check("instagram", text="#a #b #c go", tags=["d", "#e", "f"])
    assert six.ok
    [warning] = six.warnings
    assert (warning.rule, warning.measured, warning.limit) == ("hashtag_limit", 6, 5)
    assert warning.message == "instagram: 6 hashtags (text and tags), instagram allows 5: remove 1"


def test_instagram_text_only_is_a_warning() -> None:
    result = check("instagram", media_urls=[])
    assert result.ok
    assert rules_of(result, "warning") == ["media_missing"]


def test_linkedin_fold_at_210() -> None:
    assert check("linkedin", text="a" * 210).problems == ()
    result = check("linkedin", text="a" * 211)
    assert result.ok
    [warning] = result.warnings
    assert (warning.rule, warning.measured, warning.limit) == ("fold", 211, 210)
    assert "see more" in warning.message and "put the point of the post first" in warning.message


def test_linkedin_risky_characters_but_not_hashtags() -> None:
    assert check("linkedin", text="Launch day #python").problems == ()
    result = check("linkedin", text="Launch (beta) with *stars* #python")
    [warning] = result.warnings
    assert (warning.rule, warning.measured) == ("risky_chars", "( ) *")
    assert "remove them" in warning.message


def test_threads_one_topic_tag() -> None:
    assert check("threads", text="#one tag").problems == ()
    [warning] = check("threads", text="#one #two").warnings
    assert warning.rule == "topic_tags" and "keep the most relevant one" in warning.message


# --- everything at once ----------------------------------------------------------------------------------

def test_every_problem_is_returned_at_once_across_targets() -> None:
    result = check_post(
        text="x" * 3_001 + " <b>",
        title=None,
        targets=[T("linkedin"), T("youtube", {"privacy": "nope"}), T("reddit"), T("tiktok"), T("mastodon")],
        media_urls=[IMG, VID],
    )
    assert not result.ok
    got = {(p.platform, p.rule) for p in result.errors}
    assert got >= {
        ("linkedin", "carousel"),
        ("youtube", "forbidden_chars"), ("youtube", "title_required"), ("youtube", "media_kind"),
        ("youtube", "video_count"), ("youtube", "metadata_invalid"),
        ("reddit", "title_required"), ("reddit", "media_kind"), ("reddit", "carousel"),
        ("reddit", "metadata_required"),
        ("tiktok", "media_kind"), ("tiktok", "video_count"), ("tiktok", "metadata_required"),
        ("linkedin", "text_limit"), ("mastodon", "platform"),
    }
    warned = {(p.platform, p.rule) for p in result.warnings}
    assert warned >= {("linkedin", "fold"), ("linkedin", "risky_chars")}
    for problem in result.problems:
        assert problem.message.startswith(f"{problem.platform}: ")
        assert ": " in problem.message.removeprefix(f"{problem.platform}: "), problem.message  # reason: fix


def test_two_accounts_on_one_platform_report_a_problem_once() -> None:
    result = check_post(text="", title=None, targets=[T("facebook"), T("facebook")])
    assert [p.rule for p in result.problems] == ["text_required"]


# --- readable rules ------------------------------------------------------------------------------------

def test_rules_as_markdown_lists_every_platform() -> None:
    md = rules_as_markdown()
    assert LAST_CHECKED in md
    for name in PLATFORMS:
        assert f"| {name} |" in md
    assert "63,206 characters" in md and "1,024 with media" in md
    rows = [line for line in md.splitlines() if line.startswith("| ")]
    assert all(line.replace("\\|", "").count("|") == 9 for line in rows)


def test_describe_rules() -> None:
    text = describe_rules("reddit")
    assert "title required, up to 300 characters" in text and "r/name" in text
    assert "exactly one video" in describe_rules("youtube")
    with pytest.raises(KeyError):
        describe_rules("myspace")


def test_telegram_markdown_that_would_not_parse_is_a_warning_naming_where() -> None:
    """platform-rules.md: Telegram rejects Markdown that does not parse (at publish time, after approval)."""
    assert check("telegram", text="Launch *today* with _style_, `code` and [a link](https://x.test)").problems == ()
    assert check("telegram", text=r"5 \* 3 and my\_var").problems == ()
    for text, mark, position in (("Launch *today", "*", 8), ("my_var", "_", 3), ("```pre", "```", 1),
                                 ("[oops", "[", 1)):
        result = check("telegram", text=text)
        assert result.ok, "a warning: SocialDock does not name its Markdown dialect"
        [warning] = result.warnings
        assert (warning.rule, warning.measured) == ("markdown", mark)
        assert f"a {mark} at character {position} that is never closed" in warning.message
        assert f"\\{mark}" in warning.message
    assert check("linkedin", text="Launch *today").warnings[0].rule == "risky_chars"  # only Telegram parses it
