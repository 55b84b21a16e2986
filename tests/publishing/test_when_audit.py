"""Times never silently wrong (issue 9 §2): what the outside audit found, each with what the fix promises.

A month or year with no day is refused with a working example; a weekday that contradicts the date is
refused naming both; the zone given apart from the phrase takes every form the phrase takes, and a refusal
about it names that input; a day the month does not have is refused as such; hints keep what was asked.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from sdassist.publishing.when import TimeError, resolve_time
from sdassist.tools import ToolError
from tests.tools.conftest import OPERATOR, call, runtime  # noqa: F401 - the fixture

SAT_7 = datetime(2026, 12, 5, 7, 0, tzinfo=UTC)  # Saturday 5 Dec 2026, 07:00 UTC


def refused(phrase: str, **kw: Any) -> TimeError:
    with pytest.raises(TimeError) as caught:
        resolve_time(phrase, now=SAT_7, **kw)
    return caught.value


def works(phrase: str, **kw: Any) -> str:
    return resolve_time(phrase, now=SAT_7, **kw).echo


@pytest.mark.parametrize(("phrase", "example"), [
    ("March 9am", "Mar 1 at 9am"), ("in march at 5:30pm", "Mar 1 at 5:30pm"), ("may 9am", "May 1 at 9am"),
    ("december 2027 9am", "Dec 1 2027 at 9am"), ("sep 10am", "Sep 1 at 10am"),
])
def test_a_month_with_no_day_is_refused_with_a_working_example(phrase: str, example: str) -> None:
    error = refused(phrase)
    assert "names a month, not a day" in error.message and error.example == example
    works(error.example)  # the example itself is accepted


def test_a_year_with_no_day_is_refused() -> None:
    error = refused("2027 at 9am")
    assert "names a year, not a day" in error.message
    works(error.example)


@pytest.mark.parametrize(("phrase", "said", "example"), [
    ("tuesday Dec 7 9am", "Dec 7 2026 is a Monday, not a Tuesday", "Mon Dec 7 at 9am"),
    ("Dec 7 tuesday 9am", "Dec 7 2026 is a Monday, not a Tuesday", "Mon Dec 7 at 9am"),
    ("tomorrow friday 9am", "Dec 6 2026 is a Sunday, not a Friday", "Sun Dec 6 at 9am"),
    ("sunday the 11th 9am", "Dec 11 2026 is a Friday, not a Sunday", "Fri Dec 11 at 9am"),
])
def test_a_weekday_that_contradicts_the_date_is_refused_naming_both(phrase: str, said: str, example: str) -> None:
    error = refused(phrase)
    assert said in error.message and error.example == example
    works(error.example)


@pytest.mark.parametrize(("phrase", "echo"), [
    ("monday Dec 7 9am", "Mon 7 Dec 2026 09:00 UTC"), ("friday the 11th at 9am", "Fri 11 Dec 2026 09:00 UTC"),
    ("tomorrow sunday 9am", "Sun 6 Dec 2026 09:00 UTC"), ("the 11th at 9am", "Fri 11 Dec 2026 09:00 UTC"),
])
def test_a_weekday_that_matches_is_fine_and_the_day_is_the_one_written(phrase: str, echo: str) -> None:
    assert works(phrase).startswith(echo)


@pytest.mark.parametrize(("phrase", "said"), [
    ("Nov 31 at 10am", "Nov 31 does not exist: Nov has 30 days"),
    ("31 nov 10am", "Nov 31 does not exist: Nov has 30 days"),
    ("Feb 30 9am", "Feb 30 does not exist: Feb has 28 days (29 in a leap year)"),
    ("April 31 2027 9am", "Apr 31 2027 does not exist: Apr has 30 days"),
    ("Feb 29 2027 9am", "Feb 29 2027 does not exist: Feb has 28 days"),
    ("Nov 45 10am", "45 is not a day of the month"), ("the 32nd at 9am", "32 is not a day of the month"),
])
def test_a_day_that_does_not_exist_is_refused_as_such_never_read_as_a_year(phrase: str, said: str) -> None:
    error = refused(phrase)
    assert said in error.message and "days ahead" not in error.message
    works(error.example)


@pytest.mark.parametrize(("zone", "echo"), [
    ("UTC+2", "Sun 6 Dec 2026 09:00 UTC+02:00 = 07:00 UTC"),
    ("+02:00", "Sun 6 Dec 2026 09:00 UTC+02:00 = 07:00 UTC"),
    ("GMT-5", "Sun 6 Dec 2026 09:00 UTC-05:00 = 14:00 UTC"),
    ("utc+05:30", "Sun 6 Dec 2026 09:00 UTC+05:30 = 03:30 UTC"),
    ("PT", "Sat 5 Dec 2026 09:00 PST = 17:00 UTC"), ("europe/berlin", "Sun 6 Dec 2026 09:00 CET = 08:00 UTC"),
])
def test_the_zone_apart_from_the_phrase_takes_every_form_the_phrase_takes(zone: str, echo: str) -> None:
    assert works("tomorrow 9am", zone=zone) == echo
    assert works("tomorrow 9am", default_zone=zone) == echo


def test_a_zone_refusal_names_the_zone_input_not_the_phrase() -> None:
    assert refused("tomorrow 9am", zone="Mars/Base").field == "zone"
    assert refused("tomorrow 9am", zone="UTC+25", zone_field="--zone").field == "--zone"
    error = refused("tomorrow 9am", default_zone="Nowhere/Land")
    assert error.field == "SDASSIST_TIMEZONE" and error.example == "Europe/Berlin"


async def test_tools_name_the_zone_field_and_take_offsets(runtime: Any) -> None:  # noqa: F811
    view = await call(runtime, "resolve_time", phrase="tomorrow 9am", zone="UTC+2")
    assert view.local.endswith("UTC+02:00") or "UTC+02:00" in str(view)
    with pytest.raises(ToolError) as caught:
        await call(runtime, "draft_post", text="Hi", targets=["linkedin"], when="tomorrow 9am", zone="Mars/Base")
    assert caught.value.message.startswith("zone: unknown time zone 'Mars/Base'") and "phrase" not in \
        caught.value.message.split(";")[0]
    ctx = runtime.context(OPERATOR, zone="Nowhere/Land", zone_source="--zone")
    from sdassist.tools import get_tool

    with pytest.raises(ToolError, match=r"^--zone: unknown time zone"):
        await get_tool("resolve_time").run(ctx, {"phrase": "tomorrow 9am"})


def test_an_ambiguous_numeric_date_shows_both_readings_with_the_persons_time() -> None:
    error = refused("03/04 5:30pm")
    assert error.examples == ("3 Apr 5:30pm", "4 Mar 5:30pm")
    assert "3 Apr or 4 Mar" in error.message
    for example in error.examples:
        works(example)
    assert refused("13/04 at 9am").examples == ("13 Apr at 9am",)  # only one reading is a date


@pytest.mark.parametrize("phrase", ["asap", "ASAP", "as soon as possible", "right away"])
def test_asap_suggests_now_and_publish_now(phrase: str) -> None:
    error = refused(phrase)
    assert error.example == "now" and "publish_now" in error.message
    works("now")
