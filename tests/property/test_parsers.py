"""Arbitrary input to the parsers and checkers: a result or the one documented refusal, never a crash."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from sdassist.netsafety import is_loopback_host
from sdassist.publishing.platforms import RULES, check_post
from sdassist.publishing.when import TimeError, resolve_time
from sdassist.tools.errors import ToolError
from sdassist.tools.webhooks import check_webhook_url

NOW = datetime(2031, 3, 3, 12, 0, tzinfo=UTC)

WORDS = ["tomorrow", "today", "next", "friday", "monday", "at", "noon", "midnight", "in", "2", "hours", "9am",
         "17:00", "Dec", "3", "Europe/Berlin", "UTC+2", "+05:30", "PST", "half", "past", "pm", "am", "29", "Feb",
         "2031", "yesterday", "ago", "week", "minutes", "0", "-1", "99999", "T", "Z", ":", "/", "."]
ZONES = ["UTC", "Europe/Berlin", "America/New_York", "Asia/Tokyo", "Australia/Lord_Howe", "Nowhere/Land", "",
         "+05:30", "GMT-3", "utc", "../etc/passwd", "\x00"]

phrases = st.one_of(
    st.text(max_size=60),
    st.lists(st.sampled_from(WORDS), max_size=7).map(" ".join),
    st.lists(st.one_of(st.sampled_from(WORDS), st.text(max_size=5)), max_size=6).map(" ".join),
)
zones = st.one_of(st.none(), st.sampled_from(ZONES), st.text(max_size=20))


@settings(max_examples=400)
@given(phrase=phrases, zone=zones, default_zone=st.sampled_from(["UTC", "Europe/Berlin", "Pacific/Chatham"]),
       ahead=st.integers(min_value=-5, max_value=400))
@example(phrase="Mar 30 2031 02:30", zone="Europe/Berlin", default_zone="UTC", ahead=366)  # a DST gap
@example(phrase="Oct 26 2031 02:30", zone="Europe/Berlin", default_zone="UTC", ahead=366)  # a DST fold
@example(phrase="in 9999999999999 hours", zone=None, default_zone="UTC", ahead=366)
def test_resolve_time_answers_or_refuses_with_a_time_error(
    phrase: str, zone: str | None, default_zone: str, ahead: int
) -> None:
    try:
        resolved = resolve_time(phrase, zone=zone, now=NOW, default_zone=default_zone,
                                max_ahead=timedelta(days=ahead))
    except TimeError as exc:
        assert str(exc).strip()  # a refusal always says why
        return
    assert resolved.utc.tzinfo is not None
    assert resolved.utc > NOW  # never the past
    assert resolved.utc <= NOW + timedelta(days=max(ahead, 0)) + timedelta(days=1)


@dataclass
class _Target:
    platform: str
    metadata: dict[str, Any] | None = None


metadata_values = st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=20),
                            st.sampled_from(["public", "private", "unlisted", "PUBLIC_TO_EVERYONE", "r/python"]))
targets = st.builds(
    _Target,
    platform=st.one_of(st.sampled_from(sorted(RULES)), st.text(max_size=12)),
    metadata=st.one_of(st.none(), st.dictionaries(
        st.one_of(st.sampled_from(["privacy", "privacy_level", "subreddit", "title", "chat_id"]), st.text(max_size=8)),
        metadata_values, max_size=3)),
)
urls = st.one_of(
    st.text(max_size=40),
    st.builds("{}://example.com/{}.{}".format, st.sampled_from(["http", "https", "ftp", ""]), st.text(max_size=10),
              st.sampled_from(["jpg", "png", "mp4", "gif", "mov", "txt", "", "JPEG"])),
)


@settings(max_examples=300)
@given(text=st.one_of(st.text(max_size=400), st.text(alphabet="#@ abc😀\u200d", max_size=3500)),
       title=st.one_of(st.none(), st.text(max_size=120)),
       targets=st.lists(targets, max_size=5),
       media_urls=st.lists(urls, max_size=12),
       tags=st.lists(st.text(max_size=15), max_size=40))
def test_check_post_reports_problems_instead_of_raising(
    text: str, title: str | None, targets: list[_Target], media_urls: list[str], tags: list[str]
) -> None:
    try:
        checked = check_post(text=text, title=title, targets=targets, media_urls=media_urls, tags=tags)
    except ValueError as exc:  # the documented refusal for what cannot be checked at all
        assert str(exc).strip()
        return
    for problem in [*checked.errors, *checked.warnings]:
        assert str(problem).strip()


LOOPBACK = ["127.0.0.1", "localhost", "[::1]", "127.8.9.10", "LOCALHOST"]
REMOTE = ["example.com", "10.0.0.1", "192.168.1.5", "[::2]", "169.254.169.254", "0.0.0.0", "localhost.evil.com",
          "127.0.0.1.nip.io", "[::ffff:8.8.8.8]"]


@settings(max_examples=300)
@given(url=st.one_of(
    st.text(max_size=60),
    st.builds("{}://{}{}/{}".format, st.sampled_from(["http", "https", "HTTP", "ftp", "javascript", "", "http:"]),
              st.one_of(st.sampled_from(LOOPBACK + REMOTE), st.text(max_size=15)),
              st.sampled_from(["", ":8080", ":0", ":99999", ":abc"]), st.text(max_size=10)),
))
def test_webhook_urls_are_https_or_loopback_http(url: str) -> None:
    try:
        accepted = check_webhook_url(url, loopback_ok=True)
    except ToolError as exc:
        assert "https" in str(exc)
        return
    parts = urlsplit(accepted)
    assert parts.hostname
    assert parts.scheme == "https" or (parts.scheme == "http" and is_loopback_host(parts.hostname))


@pytest.mark.parametrize("host", REMOTE)
def test_plain_http_to_a_remote_host_is_refused(host: str) -> None:
    with pytest.raises(ToolError, match="https"):
        check_webhook_url(f"http://{host}/socialdock/webhook")


@pytest.mark.parametrize("host", LOOPBACK)
def test_plain_http_to_loopback_is_accepted(host: str) -> None:
    assert check_webhook_url(f"http://{host}:8080/hook", loopback_ok=True) == f"http://{host}:8080/hook"


# --- issue 9 §2: a month never gets today's day number; a weekday never contradicts its date --------------

MONTH_WORDS = ["January", "jan", "Feb", "february", "March", "mar", "April", "apr", "may", "June", "jun", "July",
               "Aug", "september", "Sept", "sep", "October", "oct", "Nov", "november", "December", "dec"]
MONTH_NUMBER = {w.lower()[:3]: i for i, w in enumerate(["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug",
                                                          "sep", "oct", "nov", "dec"], start=1)}
DAY_WORDS = ["Monday", "tuesday", "Wed", "thursday", "Fri", "saturday", "Sun"]
DAY_NUMBER = {w.lower()[:3]: i for i, w in enumerate(["mon", "tue", "wed", "thu", "fri", "sat", "sun"])}
TIMES = ["9am", "at 9am", "17:00", "at 5:30pm", "noon", "at 10", "11pm"]
moments = st.datetimes(min_value=datetime(2025, 1, 1), max_value=datetime(2035, 12, 31), timezones=st.just(UTC))


@settings(max_examples=300)
@given(month=st.sampled_from(MONTH_WORDS), lead=st.sampled_from(["", "in", "next", "this", "early", "on"]),
       year=st.sampled_from(["", "2031", "2032"]), at=st.sampled_from(TIMES), now=moments,
       zone=st.sampled_from(["UTC", "Europe/Berlin", "UTC+2", "Pacific/Chatham"]))
def test_a_month_with_no_day_number_is_always_refused(month: str, lead: str, year: str, at: str, now: datetime,
                                                       zone: str) -> None:
    phrase = " ".join(p for p in (lead, month, year, at) if p)
    with pytest.raises(TimeError):
        resolve_time(phrase, zone=zone, now=now, max_ahead=timedelta(days=4000))


@settings(max_examples=300)
@given(month=st.sampled_from(MONTH_WORDS), day=st.integers(min_value=0, max_value=40),
       order=st.sampled_from(["{m} {d}", "{d} {m}", "{m} {d}th", "the {d}th of {m}"]),
       year=st.sampled_from(["", "2031", "2032"]), at=st.sampled_from(TIMES), now=moments,
       weekday=st.sampled_from(["", *DAY_WORDS]), zone=st.sampled_from(["UTC", "Europe/Berlin", "UTC-5"]))
def test_a_day_comes_from_the_phrase_and_a_weekday_matches_or_it_is_refused(
        month: str, day: int, order: str, year: str, at: str, now: datetime, weekday: str, zone: str) -> None:
    date_text = order.format(m=month, d=day)
    phrase = " ".join(p for p in (weekday, date_text, year, at) if p)
    try:
        got = resolve_time(phrase, zone=zone, now=now, max_ahead=timedelta(days=4000)).local
    except TimeError:
        return
    assert (got.month, got.day) == (MONTH_NUMBER[month.lower()[:3]], day), phrase
    if year:
        assert got.year == int(year), phrase
    if weekday:
        assert got.weekday() == DAY_NUMBER[weekday.lower()[:3]], phrase
