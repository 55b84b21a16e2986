"""Natural-language times: resolved in the speaker's zone, DST-correct, the unclear refused with a fix."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta

import pytest

from sdassist.publishing import when
from sdassist.publishing.when import ResolvedTime, TimeError, parse_zone, resolve_time

BERLIN, NEW_YORK, LA = "Europe/Berlin", "America/New_York", "America/Los_Angeles"
# Fri 4 Dec 2026, 10:00 in Berlin (CET, UTC+1).
FRI_10 = datetime(2026, 12, 4, 9, 0, tzinfo=UTC)
FRI_18 = datetime(2026, 12, 4, 17, 0, tzinfo=UTC)


def local(phrase: str, zone: str = BERLIN, now: datetime = FRI_10) -> str:
    """The resolved local wall time as 'YYYY-MM-DD HH:MM'."""
    return f"{resolve_time(phrase, zone=zone, now=now).local:%Y-%m-%d %H:%M}"


def refusal(phrase: str, zone: str = BERLIN, now: datetime = FRI_10) -> TimeError:
    with pytest.raises(TimeError) as caught:
        resolve_time(phrase, zone=zone, now=now)
    return caught.value


# --- supported phrases ---------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("phrase", "expected"),
    [
        ("tomorrow 9am", "2026-12-05 09:00"),
        ("tomorrow 9 am", "2026-12-05 09:00"),
        ("Tomorrow 9AM", "2026-12-05 09:00"),
        ("tomorrow 9 a.m.", "2026-12-05 09:00"),
        ("tomorrow 9.30am", "2026-12-05 09:30"),
        ("tomorrow 9:30 pm", "2026-12-05 21:30"),
        ("  tomorrow   9am  ", "2026-12-05 09:00"),
        ("“tomorrow 9am”", "2026-12-05 09:00"),
        ("‘tomorrow 9am’", "2026-12-05 09:00"),
        ("next monday at 10", "2026-12-07 10:00"),
        ("next monday at 10am", "2026-12-07 10:00"),
        ("friday 5pm", "2026-12-04 17:00"),  # it is Friday 10:00: today
        ("this friday 5pm", "2026-12-04 17:00"),
        ("sat 10am", "2026-12-05 10:00"),
        ("monday at noon", "2026-12-07 12:00"),
        ("next friday 17:00", "2026-12-11 17:00"),
        ("Dec 25 at 6pm", "2026-12-25 18:00"),
        ("Dec 3 at noon", "2027-12-03 12:00"),  # Dec 3 has passed this year
        ("December 24th 9am", "2026-12-24 09:00"),
        ("tonight 8pm", "2026-12-04 20:00"),
        ("tomorrow midnight", "2026-12-05 00:00"),
        ("midnight", "2026-12-05 00:00"),
        ("noon", "2026-12-04 12:00"),
        ("9am", "2026-12-05 09:00"),  # a time alone is its next occurrence
        ("17:00", "2026-12-04 17:00"),
        ("tomorrow 9", "2026-12-05 09:00"),
        ("tomorrow at 15", "2026-12-05 15:00"),
        ("tomorrow 10 o'clock", "2026-12-05 10:00"),
        ("tomorrow 03:30", "2026-12-05 03:30"),  # a leading zero is the 24-hour clock
        ("2026-12-08 09:00", "2026-12-08 09:00"),
        ("2026-12-08 9am", "2026-12-08 09:00"),
        ("2026-12-08T09:00:00", "2026-12-08 09:00"),
    ],
)
def test_phrases_in_berlin(phrase: str, expected: str) -> None:
    assert local(phrase) == expected


def test_friday_on_a_friday_evening_is_next_week() -> None:
    assert local("friday 5pm", now=FRI_18) == "2026-12-11 17:00"
    assert local("friday 7pm", now=FRI_18) == "2026-12-04 19:00"


def test_result_shape_and_echo() -> None:
    result = resolve_time("tomorrow 9am", zone=BERLIN, now=FRI_10)
    assert result == ResolvedTime(
        utc=datetime(2026, 12, 5, 8, 0, tzinfo=UTC),
        local=datetime(2026, 12, 5, 9, 0, tzinfo=parse_zone(BERLIN)),
        zone=BERLIN,
        phrase="tomorrow 9am",
        echo="Sat 5 Dec 2026 09:00 CET = 08:00 UTC",
    )
    assert result.utc.tzinfo is UTC
    assert str(result.local.tzinfo) == BERLIN


def test_echo_shows_the_utc_date_when_it_differs() -> None:
    result = resolve_time("tomorrow 00:30", zone=BERLIN, now=FRI_10)
    assert result.echo == "Sat 5 Dec 2026 00:30 CET = Fri 4 Dec 2026 23:30 UTC"


@pytest.mark.parametrize(
    ("phrase", "utc", "zone"),
    [
        ("3pm Europe/Berlin", "2026-12-04 14:00", BERLIN),
        ("3pm in europe/berlin", "2026-12-04 14:00", BERLIN),
        ("5pm PT", "2026-12-05 01:00", LA),
        ("tomorrow 9am PST", "2026-12-05 17:00", LA),
        ("tomorrow 9am PDT", "2026-12-05 17:00", LA),  # the Los Angeles wall clock, whatever the letter
        ("tomorrow 9am ET", "2026-12-05 14:00", NEW_YORK),
        ("9am CET", "2026-12-05 08:00", BERLIN),
        ("tomorrow 9am JST", "2026-12-05 00:00", "Asia/Tokyo"),
        ("tomorrow 9am AEDT", "2026-12-04 22:00", "Australia/Sydney"),
        ("tomorrow 9am BST", "2026-12-05 09:00", "Europe/London"),
        ("tomorrow 9am UTC", "2026-12-05 09:00", "UTC"),
        ("tomorrow 9am GMT", "2026-12-05 09:00", "UTC"),
        ("9am UTC+2", "2026-12-05 07:00", "UTC+02:00"),
        ("tomorrow 9am UTC-5:30", "2026-12-05 14:30", "UTC-05:30"),
        ("tomorrow 9am +02:00", "2026-12-05 07:00", "UTC+02:00"),
        ("2026-12-08T09:00:00Z", "2026-12-08 09:00", "UTC"),
        ("2026-12-08T09:00:00+02:00", "2026-12-08 07:00", "UTC+02:00"),
        ("2026-12-08T09:00-0500", "2026-12-08 14:00", "UTC-05:00"),
    ],
)
def test_a_zone_in_the_phrase_wins(phrase: str, utc: str, zone: str) -> None:
    result = resolve_time(phrase, zone=NEW_YORK if zone != NEW_YORK else BERLIN, now=FRI_10)
    assert f"{result.utc:%Y-%m-%d %H:%M}" == utc
    assert result.zone == zone


def test_zone_defaults() -> None:
    assert resolve_time("tomorrow 9am", now=FRI_10).zone == "UTC"
    assert resolve_time("tomorrow 9am", now=FRI_10, default_zone=NEW_YORK).zone == NEW_YORK
    assert resolve_time("tomorrow 9am", zone=LA, now=FRI_10, default_zone=NEW_YORK).zone == LA


def test_an_exact_zone_name_does_not_list_the_zone_database() -> None:
    """Listing every zone name walks the tz database (~25 ms): only a name in another case needs it."""
    when._zone_names.cache_clear()
    assert str(parse_zone("Europe/Berlin")) == BERLIN
    assert when._zone_names.cache_info().currsize == 0
    assert str(parse_zone("europe/BERLIN")) == BERLIN
    assert when._zone_names.cache_info().currsize == 1


def test_naive_now_is_utc_and_now_is_now() -> None:
    result = resolve_time("now", zone=BERLIN, now=datetime(2026, 12, 4, 9, 0))
    assert result.utc == FRI_10
    assert resolve_time("right now", now=FRI_10).utc == FRI_10


def test_without_now_uses_the_clock() -> None:
    before = datetime.now(UTC)
    result = resolve_time("in 5 minutes")
    assert before + timedelta(minutes=5) <= result.utc <= datetime.now(UTC) + timedelta(minutes=5)


@pytest.mark.parametrize(
    ("phrase", "delta"),
    [
        ("in 2 hours", timedelta(hours=2)),
        ("in 30 minutes", timedelta(minutes=30)),
        ("in 30 mins", timedelta(minutes=30)),
        ("in an hour", timedelta(hours=1)),
        ("in half an hour", timedelta(minutes=30)),
        ("in 1 hour and 30 minutes", timedelta(minutes=90)),
        ("in 1.5 hours", timedelta(minutes=90)),
        ("in 3 days", timedelta(days=3)),
        ("in 2 weeks", timedelta(weeks=2)),
        ("90 minutes from now", timedelta(minutes=90)),
    ],
)
def test_durations(phrase: str, delta: timedelta) -> None:
    assert resolve_time(phrase, zone=BERLIN, now=FRI_10).utc == FRI_10 + delta


# --- DST ------------------------------------------------------------------------------------------------

# (zone, the day before a change at 10:00 local as UTC, "tomorrow 9am" in UTC, the gap or fold time)
SPRING = [
    (BERLIN, datetime(2026, 3, 28, 9, 0, tzinfo=UTC), "2026-03-29 07:00", "02:30"),
    (NEW_YORK, datetime(2026, 3, 7, 15, 0, tzinfo=UTC), "2026-03-08 13:00", "02:30"),
]
FALL = [
    (BERLIN, datetime(2026, 10, 24, 8, 0, tzinfo=UTC), "2026-10-25 08:00", "02:30"),
    (NEW_YORK, datetime(2026, 10, 31, 14, 0, tzinfo=UTC), "2026-11-01 14:00", "01:30"),
]


@pytest.mark.parametrize(("zone", "now", "utc", "_"), SPRING + FALL)
def test_wall_time_across_a_dst_change_is_not_shifted(zone: str, now: datetime, utc: str, _: str) -> None:
    result = resolve_time("tomorrow 9am", zone=zone, now=now)
    assert f"{result.local:%H:%M}" == "09:00"
    assert f"{result.utc:%Y-%m-%d %H:%M}" == utc


@pytest.mark.parametrize(("zone", "now", "_", "gap"), SPRING)
def test_spring_forward_gap_is_refused(zone: str, now: datetime, _: str, gap: str) -> None:
    error = refusal(f"tomorrow {gap}", zone=zone, now=now)
    day = now.date() + timedelta(days=1)
    assert error.message == f"{gap} does not exist on {day.day} Mar 2026 in {zone} (clocks go forward)"
    assert error.example == f"{day:%Y-%m-%d} 03:30"
    assert f"{resolve_time(error.example, zone=zone, now=now).local:%H:%M}" == "03:30"


def test_gap_example_keeps_a_zone_from_the_phrase() -> None:
    error = refusal("2026-03-29 02:30 Europe/Berlin", zone=NEW_YORK, now=SPRING[0][1])
    assert str(error).endswith('try "2026-03-29 03:30 Europe/Berlin"')


@pytest.mark.parametrize(("zone", "now", "_", "fold"), FALL)
def test_fall_back_fold_is_refused_and_the_offset_resolves_it(zone: str, now: datetime, _: str, fold: str) -> None:
    error = refusal(f"tomorrow {fold}", zone=zone, now=now)
    assert "happens twice" in error.message and "(clocks go back)" in error.message
    assert "add the offset" in error.message
    first = resolve_time(error.example, zone=zone, now=now)
    assert f"{first.local:%H:%M}" == fold
    assert f"{first.utc:%H:%M}" == ("00:30" if zone == BERLIN else "05:30")


@pytest.mark.parametrize(("zone", "now", "_", "__"), SPRING + FALL)
def test_durations_across_dst_are_absolute(zone: str, now: datetime, _: str, __: str) -> None:
    result = resolve_time("in 24 hours", zone=zone, now=now)
    assert result.utc - now == timedelta(hours=24)
    assert f"{result.local:%H:%M}" in ("11:00", "09:00")  # the wall clock moved by the change


def test_next_to_the_gap_and_the_fold_is_fine() -> None:
    spring_now = SPRING[0][1]
    assert local("tomorrow 01:59", now=spring_now) == "2026-03-29 01:59"
    assert local("tomorrow 03:00", now=spring_now) == "2026-03-29 03:00"
    fall_now = FALL[0][1]
    assert local("tomorrow 03:00", now=fall_now) == "2026-10-25 03:00"


# --- bare hours -----------------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("phrase", "expected"),
    [
        ("tomorrow at 7", "2026-12-05 07:00"),
        ("tomorrow at 11", "2026-12-05 11:00"),
        ("tomorrow at 12", "2026-12-05 12:00"),
        ("tomorrow at 0", "2026-12-05 00:00"),
        ("tomorrow at 13", "2026-12-05 13:00"),
        ("tomorrow at 23", "2026-12-05 23:00"),
        ("tomorrow at 07", "2026-12-05 07:00"),
        ("tomorrow at 06", "2026-12-05 06:00"),
        ("monday 10", "2026-12-07 10:00"),
    ],
)
def test_bare_hour_rule(phrase: str, expected: str) -> None:
    assert local(phrase) == expected


@pytest.mark.parametrize("hour", ["1", "3", "6", "4:30"])
def test_bare_hours_one_to_six_are_refused(hour: str) -> None:
    error = refusal(f"next monday at {hour}")
    assert error.message == f"{hour} without am or pm is ambiguous: did you mean {hour}am or {hour}pm"
    assert error.example == f"next monday at {hour}pm"
    resolve_time(error.example, zone=BERLIN, now=FRI_10)


# --- refusals -------------------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("phrase", "message", "example"),
    [
        ("", "no time given: say when", "tomorrow 9am"),
        ("   ", "no time given: say when", "tomorrow 9am"),
        ("tomorrow", "'tomorrow' has no time of day: add one", "tomorrow at 9am"),
        ("Dec 3", "'Dec 3' has no time of day: add one", "Dec 3 at 9am"),
        ("next friday", "'next friday' has no time of day: add one", "next friday at 9am"),
        ("tonight", "'tonight' has no time of day: add one", "tonight 8pm"),
        ("2026-12-08", "2026-12-08 has no time of day: add one", "2026-12-08 09:00"),
        ("next week", "'next week' names a week, not a day: name the day and add a time of day",
         "next monday at 10am"),
        ("next month at 9am", "'next month' names a month, not a day: name the day and add a time of day",
         "next monday at 10am"),
        ("tomorrow at nine", "'tomorrow at nine' has no time of day: add one", "tomorrow 9am"),
        ("03/04 9am", "03/04 is ambiguous (day/month or month/day: 3 Apr or 4 Mar?): write the month as a word "
         "or use year-month-day", "3 Apr 9am"),
        ("3/4/2026 9am", "3/4/2026 is ambiguous (day/month or month/day: 3 Apr 2026 or 4 Mar 2026?): write the "
         "month as a word or use year-month-day", "3 Apr 2026 9am"),
        ("4.3.2027 9am", "4.3.2027 is ambiguous (day/month or month/day: 4 Mar 2027 or 3 Apr 2027?): write the "
         "month as a word or use year-month-day", "4 Mar 2027 9am"),
        ("blah", "cannot read 'blah' as a date and time", "next monday at 10am"),
        ("eod", "cannot read 'eod' as a date and time", "next monday at 10am"),
        ("in 0 minutes", "a duration must be more than zero", "in 2 hours"),
        ("tomorrow 9am 5pm", "more than one time of day in the phrase: keep one", "tomorrow 9am"),
        ("tomorrow 25:00", "25:00 is not a time of day", "tomorrow 9am"),
        ("tomorrow 13pm", "13pm is not a time of day", "tomorrow 9am"),
        ("Europe/Berlin", "only a time zone (Europe/Berlin) was given: add the day and time",
         "tomorrow 9am Europe/Berlin"),
    ],
)
def test_refusals(phrase: str, message: str, example: str) -> None:
    error = refusal(phrase)
    assert (error.message, error.example) == (message, example)
    assert str(error) == f'{message}: try "{example}"'
    assert isinstance(error, ValueError)


def test_the_past_is_refused() -> None:
    error = refusal("today 8am")
    assert error.message == ("Fri 4 Dec 2026 08:00 CET = 07:00 UTC is in the past "
                             "(it is now Fri 4 Dec 10:00 CET)")
    assert error.example == "tomorrow 08:00"
    refusal("2026-12-01 09:00")
    refusal("tonight 8pm", now=datetime(2026, 12, 4, 20, 0, tzinfo=UTC))


def test_too_far_ahead_is_refused() -> None:
    assert "more than 366 days ahead" in refusal("in 400 days").message
    assert "more than 366 days ahead" in refusal("2028-01-01 09:00").message
    with pytest.raises(TimeError, match="more than 7 days ahead"):
        resolve_time("in 8 days", now=FRI_10, max_ahead=timedelta(days=7))


@pytest.mark.parametrize(
    ("phrase", "fragment"),
    [
        ("5pm XST", "unknown time zone abbreviation 'XST'"),
        ("5pm Mars/Olympus", "unknown time zone 'Mars/Olympus'"),
        ("9am IST", "IST is ambiguous (India, Israel or Ireland"),
        ("9am UTC+15", "is not a UTC offset"),
        ("9am CET PT", "two time zones in one phrase (CET and PT): keep one"),
    ],
)
def test_zone_refusals(phrase: str, fragment: str) -> None:
    error = refusal(phrase)
    assert fragment in error.message
    assert error.example


def test_english_words_in_capitals_are_not_zones() -> None:
    assert local("NEXT MONDAY AT 10AM") == "2026-12-07 10:00"


# --- parse_zone -----------------------------------------------------------------------------------------

def test_parse_zone() -> None:
    assert parse_zone("Europe/Berlin").key == BERLIN
    assert parse_zone("europe/berlin").key == BERLIN
    assert parse_zone("PT").key == LA
    assert parse_zone("utc").key == "UTC"
    for bad in ("Mars/Olympus", "", "../etc/passwd", "IST"):
        with pytest.raises(TimeError) as caught:
            parse_zone(bad)
        assert caught.value.example
    with pytest.raises(TimeError, match="Europe/Berlin"):
        parse_zone("Nowhere")


def test_unknown_speaker_zone_is_refused() -> None:
    with pytest.raises(TimeError, match="unknown time zone 'Mars/Olympus'"):
        resolve_time("tomorrow 9am", zone="Mars/Olympus", now=FRI_10)


# --- import cost ----------------------------------------------------------------------------------------

def test_importing_when_does_not_import_dateparser() -> None:
    code = "import sdassist.publishing.when, sys; print('dateparser' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


@pytest.mark.parametrize("phrase", [
    "2026-02-30 10:00", "2026-02-30", "2026-13-01 10:00", "2026-02-28 25:00", "2026-01-10 24:00",
    "0001-01-01 00:30 +05:00", "9999-12-31 23:30 -05:00",
])
def test_impossible_calendar_dates_are_time_errors_with_a_working_example(phrase: str) -> None:
    from datetime import UTC, datetime

    from sdassist.publishing.when import TimeError as WhenTimeError
    from sdassist.publishing.when import resolve_time as resolve

    now = datetime(2026, 1, 5, 12, tzinfo=UTC)
    with pytest.raises(WhenTimeError) as caught:
        resolve(phrase, now=now, zone="UTC")
    example = caught.value.example
    assert resolve(example, now=now, zone="UTC").utc > now  # the example it offers really works


@pytest.mark.parametrize(("phrase", "zone"), [
    ("tomorrow 9am MEZ", "MEZ"), ("tomorrow 9am SAST", "SAST"), ("friday 10am WIB", "WIB"),
    ("tomorrow at 9am EAT", "EAT"), ("tomorrow 9am +02", "+02"), ("tomorrow 9am -05", "-05"),
])
def test_a_zone_the_phrase_carries_that_is_not_read_is_refused_never_dropped(phrase: str, zone: str) -> None:
    """dateparser reads the day and skips a zone it was not asked about: 9am MEZ became 9am in the speaker's
    zone, silently an hour or more off. Refused, naming what was written, with a phrase that works."""
    with pytest.raises(TimeError) as refused:
        resolve_time(phrase, zone=NEW_YORK, now=FRI_10)
    assert f"'{zone.lower()}'" in refused.value.message.lower() and "time zone" in refused.value.message
    resolve_time(refused.value.example, zone=NEW_YORK, now=FRI_10)


def test_a_typographic_minus_in_an_offset_is_a_minus_in_the_phrase_and_the_zone() -> None:
    minus = "\u2212"
    assert resolve_time(f"tomorrow 9am UTC{minus}2", now=FRI_10).utc == resolve_time("tomorrow 9am UTC-2",
                                                                                   now=FRI_10).utc
    assert resolve_time("tomorrow 9am", zone=f"UTC{minus}2", now=FRI_10).utc == resolve_time(
        "tomorrow 9am", zone="UTC-2", now=FRI_10).utc


@pytest.mark.parametrize("phrase", ["29/02/2027 9am", "30/02/2027 9am", "31.04.2027 9:00", "31/06/27 10am"])
def test_a_numeric_date_that_is_no_real_day_either_way_is_refused_as_such_with_a_working_example(phrase: str) -> None:
    refused = refusal(phrase)
    assert "is not a real date" in refused.message and "?" not in refused.message
    for example in refused.examples:
        resolve_time(example, zone=BERLIN, now=FRI_10)  # every suggestion works as written


@pytest.mark.parametrize("phrase", ["2027-06 9am", "2027/06 9am", "06/2027 9am", "6-2027 at 9am", "2027.6 9am"])
def test_a_numeric_year_and_month_with_no_day_is_refused_not_given_todays_day(phrase: str) -> None:
    refused = refusal(phrase)
    assert "names a month, not a day" in refused.message and "Jun" in refused.message
    assert resolve_time(refused.example, zone=BERLIN, now=FRI_10).local.month == 6


def test_the_weekday_hint_keeps_the_year_written() -> None:
    refused = refusal("sunday jan 9 2027 9am")  # Jan 9 2027 is a Saturday
    assert refused.example == "Sat Jan 9 2027 at 9am"
    assert f"{resolve_time(refused.example, zone=BERLIN, now=FRI_10).local:%Y-%m-%d %H:%M}" == "2027-01-09 09:00"
    # without its year the hint would be Dec 1 2027, a Wednesday: refused again, for the weekday
    assert "2026" in refusal("wednesday dec 1 2026 9am").example


# --- whole days ahead beside a time of day ----------------------------------------------------------------

@pytest.mark.parametrize(
    ("phrase", "expected"),
    [
        ("in 32 days at 10:00", "2027-01-05 10:00"),
        ("in 3 days at 9am", "2026-12-07 09:00"),
        ("in 40 days at 5pm", "2027-01-13 17:00"),
        ("in 2 weeks at 10am", "2026-12-18 10:00"),
        ("in a week at 9am", "2026-12-11 09:00"),
        ("32 days from now at 10:00", "2027-01-05 10:00"),
    ],
)
def test_whole_days_ahead_at_a_time_of_day(phrase: str, expected: str) -> None:
    """The day N days ahead in the person's zone, at the time they said (a day number over 31 is no date)."""
    assert local(phrase) == expected


@pytest.mark.parametrize(
    ("phrase", "example"),
    [
        ("in 3 hours at 10am", "in 3 hours"),
        ("in 1.5 days at 9am", "in 1 day at 9am"),
        ("in 0 days at 9am", "tomorrow at 9am"),
    ],
)
def test_a_duration_that_contradicts_the_time_of_day_is_refused(phrase: str, example: str) -> None:
    error = refusal(phrase)
    assert "both say when" in str(error)
    assert local(error.example) is not None  # the suggestion itself parses
    assert error.example == example
