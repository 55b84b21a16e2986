"""Natural-language times: "tomorrow 9am", "friday 5pm PT", "in 2 hours" → an aware UTC datetime.

dateparser is good at the grammar of English dates and bad at time zones (see `reference/dates.md`), so
it only ever sees a zone-free phrase and a naive wall-clock base. This module takes zones out of the phrase
itself, reads the time of day itself, and attaches the zone with `zoneinfo`, which makes DST gaps and
folds visible. Everything unclear is refused with the reason and a phrase that works.

Reading of a bare hour (no am/pm, e.g. "next monday at 10", "tomorrow 9", "3:30"), one rule for all:
  - 1–6 (written without a leading zero) is ambiguous and refused: "did you mean 3am or 3pm?";
  - 7–11 is the morning (posting hours: "at 10" is 10:00);
  - 12 is noon; 0 and 13–23, or any hour written with a leading zero ("07:30"), is the 24-hour clock.
The echo shows the reading, so a person sees it before anything is approved.

Other decisions: "next friday" is the first Friday after today (dateparser 1.5.0), while "friday" (or
"this friday") is the next Friday still ahead, today included; durations ("in 2 hours", "in 1 day") are
counted on the absolute clock, so they cross a DST change without shifting; "now" is now; GMT means UTC;
a phrase offset ("+02:00", "UTC-5") gives a fixed-offset zone named like "UTC+02:00".
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, timezone, tzinfo
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from sdassist.publishing.quoting import shown as quoted

__all__ = ["ResolvedTime", "TimeError", "is_now", "parse_zone", "resolve_time", "zone_for_name", "zone_name"]

_EXAMPLE = "tomorrow 9am"


class TimeError(ValueError):
    """A phrase we will not guess at: why, and a phrase that works."""

    def __init__(self, message: str, example: str = _EXAMPLE, *, field: str | None = None,
                 examples: tuple[str, ...] = ()) -> None:
        super().__init__(message, example)
        self.message = message
        self.example = example
        #: The input the refusal is about when it is not the phrase (the `zone` argument, SDASSIST_TIMEZONE).
        self.field = field
        #: Every phrase that works, when there is more than one reading (day/month or month/day).
        self.examples = examples or (example,)

    def __str__(self) -> str:
        return f'{self.message}: try "{self.example}"'


@dataclass(frozen=True)
class ResolvedTime:
    """A resolved moment, with the local reading and an echo to show the person before approval."""

    utc: datetime
    local: datetime
    zone: str
    phrase: str
    echo: str


# --- zones -----------------------------------------------------------------------------------------------

# Abbreviations people write, read as the wall clock of one place ("PST" in July means Los Angeles time).
_ABBREVIATIONS: dict[str, str] = {
    "UTC": "UTC", "GMT": "UTC", "Z": "UTC",
    "PT": "America/Los_Angeles", "PST": "America/Los_Angeles", "PDT": "America/Los_Angeles",
    "MT": "America/Denver", "MST": "America/Denver", "MDT": "America/Denver",
    "CT": "America/Chicago", "CST": "America/Chicago", "CDT": "America/Chicago",
    "ET": "America/New_York", "EST": "America/New_York", "EDT": "America/New_York",
    "AKST": "America/Anchorage", "AKDT": "America/Anchorage", "HST": "Pacific/Honolulu",
    "CET": "Europe/Berlin", "CEST": "Europe/Berlin", "BST": "Europe/London",
    "EET": "Europe/Athens", "EEST": "Europe/Athens", "MSK": "Europe/Moscow",
    "JST": "Asia/Tokyo", "KST": "Asia/Seoul", "HKT": "Asia/Hong_Kong", "SGT": "Asia/Singapore",
    "AEST": "Australia/Sydney", "AEDT": "Australia/Sydney", "AET": "Australia/Sydney",
    "NZST": "Pacific/Auckland", "NZDT": "Pacific/Auckland",
}
_AMBIGUOUS_ABBREVIATIONS: dict[str, str] = {
    "IST": "India, Israel or Ireland: write Asia/Kolkata, Asia/Jerusalem or Europe/Dublin",
    "AST": "Atlantic or Arabia: write America/Halifax or Asia/Riyadh",
}
# Upper-case words that look like zone abbreviations ("…ST", "…DT") but are English.
_NOT_ZONES = frozenset(["LAST", "PAST", "JUST", "MOST", "BEST", "EAST", "WEST", "POST"])
_ZONE_EXAMPLE = '"Europe/Berlin", "America/New_York", "PT", "CET", or an offset such as "UTC+2"'
_IANA_LIKE = re.compile(r"^[A-Za-z][A-Za-z0-9_+-]*(?:/[A-Za-z0-9_+-]+)+$")
_UTC_OFFSET = re.compile(r"(?<![\w])(?:UTC|GMT)\s*([+-])(\d{1,2})(?::?(\d{2}))?(?![\d:])", re.IGNORECASE)
_BARE_OFFSET = re.compile(r"(?:(?<=\s)|^|(?<=\d\d:\d\d))([+-])(\d{2}):?(\d{2})(?![\d:])")
_ISO_Z = re.compile(r"(?<=\d)Z$")


@cache
def _zone_names() -> dict[str, str]:
    """Lower-cased IANA names, read once and only when an exact lookup misses (it walks the tz database)."""
    return {name.lower(): name for name in available_timezones()}


def _zone(name: str) -> ZoneInfo | None:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: a name too long for a file name
        return None


def _lookup_iana(name: str) -> ZoneInfo | None:
    """The zone of an IANA name as written, else in another case. Only a miss lists the database's names: that
    walks its files (~25 ms), which every process paid on its first zone while both were looked up at once."""
    exact = _zone(name)
    if exact is not None:
        return exact
    other = _zone_names().get(name.lower())
    return _zone(other) if other else None


_ZONE_OFFSET = re.compile(r"^(?:UTC|GMT)?\s*([+-])(\d{1,2})(?::?(\d{2}))?$", re.IGNORECASE)


def parse_zone(name: str) -> tzinfo:
    """A zone given on its own, in every form a phrase may carry one: an IANA name (any case), a known
    abbreviation, or a fixed offset (`UTC+2`, `GMT-5`, `+02:00`, `UTC+05:30`); anything else is refused."""
    cleaned = (name or "").translate(_QUOTES).strip()  # a typographic minus too: UTC−2
    upper = cleaned.upper()
    if upper in ("UTC", "GMT", "Z"):
        return ZoneInfo("UTC")
    offset = _ZONE_OFFSET.match(cleaned)
    if offset:
        return _offset_zone(*offset.groups())
    if upper in _AMBIGUOUS_ABBREVIATIONS:
        raise TimeError(f"{cleaned} is ambiguous ({_AMBIGUOUS_ABBREVIATIONS[upper]})", "Asia/Kolkata")
    if upper in _ABBREVIATIONS:
        return ZoneInfo(_ABBREVIATIONS[upper])
    zone = _lookup_iana(cleaned) if cleaned and ".." not in cleaned else None
    if zone is None:
        raise TimeError(f"unknown time zone {quoted(cleaned)}: use an IANA name such as {_ZONE_EXAMPLE}",
                        "Europe/Berlin")
    return zone


def zone_for_name(name: str) -> tzinfo:
    """The zone a `ResolvedTime.zone` names: an IANA zone, or a fixed offset written `UTC+02:00`."""
    return parse_zone(name)


def zone_name(tz: tzinfo) -> str:
    """How a zone is stored and shown: its IANA key, or `UTC+02:00` for a fixed offset."""
    return getattr(tz, "key", None) or tz.tzname(None) or "UTC"


def _offset_zone(sign: str, hours: str, minutes: str | None) -> timezone:
    h, m = int(hours), int(minutes or 0)
    if h > 14 or m >= 60:
        raise TimeError(f"{sign}{hours}:{minutes or '00'} is not a UTC offset", "9am UTC+2")
    delta = timedelta(hours=h, minutes=m) * (1 if sign == "+" else -1)
    if not delta:
        return timezone(timedelta(0), "UTC")
    return timezone(delta, f"UTC{sign}{h:02d}:{m:02d}")


def _take_zone(text: str) -> tuple[str, tzinfo | None, str | None]:
    """Remove a zone from the phrase: (rest, zone or None, zone name as written for examples)."""
    found: list[tuple[tzinfo, str]] = []

    def offset(match: re.Match[str]) -> str:
        found.append((_offset_zone(*match.groups()), match.group(0).strip()))
        return " "

    text = _UTC_OFFSET.sub(offset, text)
    text = _BARE_OFFSET.sub(offset, text)
    if _ISO_Z.search(text):
        text = _ISO_Z.sub("", text)
        found.append((UTC, "UTC"))
    kept: list[str] = []
    shouting = text.isupper()
    for word in text.split():
        token = word.strip(",;")
        upper = token.upper()
        if upper in _AMBIGUOUS_ABBREVIATIONS:
            raise TimeError(f"{token} is ambiguous ({_AMBIGUOUS_ABBREVIATIONS[upper]})", "tomorrow 9am Asia/Kolkata")
        if upper in _ABBREVIATIONS and (upper != "Z" or token == "Z"):
            found.append((ZoneInfo(_ABBREVIATIONS[upper]), upper))
        elif _IANA_LIKE.match(token):
            zone = _lookup_iana(token)
            if zone is None:
                raise TimeError(f"unknown time zone {token!r}: use an IANA name such as {_ZONE_EXAMPLE}",
                                "3pm Europe/Berlin")
            found.append((zone, zone.key))
        elif re.fullmatch(r"[A-Z]{1,3}[SD]T", token) and token not in _NOT_ZONES and not shouting:
            raise TimeError(f"unknown time zone abbreviation {token!r}: use an IANA name such as "
                            f"{_ZONE_EXAMPLE}", "5pm America/Los_Angeles")
        else:
            kept.append(word)
            continue
        if kept and kept[-1].lower() == "in":  # "3pm in Europe/Berlin"
            kept.pop()
    if len(found) > 1:
        names = " and ".join(name for _, name in found)
        raise TimeError(f"two time zones in one phrase ({names}): keep one", "3pm Europe/Berlin")
    if found:
        return " ".join(kept), found[0][0], found[0][1]
    return " ".join(kept), None, None


# --- time of day -----------------------------------------------------------------------------------------

_WEEKDAYS = {
    "monday": 0, "mon": 0, "tuesday": 1, "tue": 1, "tues": 1, "wednesday": 2, "wed": 2,
    "thursday": 3, "thu": 3, "thur": 3, "thurs": 3, "friday": 4, "fri": 4, "saturday": 5, "sat": 5,
    "sunday": 6, "sun": 6,
}
_DAY_WORDS = "today|tomorrow|tonight|" + "|".join(_WEEKDAYS)
_TWELVE_HOUR = re.compile(r"(?<![\d:.])(\d{1,2})(?:[:.](\d{2}))?\s*([ap])\.?\s?m\b\.?")
_CLOCK = re.compile(r"(?<![\d:./-])(\d{1,2}):(\d{2})(?::(\d{2}))?(?![\d:])")
_AT_HOUR = re.compile(r"(?:\bat|@)\s*(\d{1,2})(?:\s*o'?clock)?(?![\d:.])")
_OCLOCK = re.compile(r"(?<![\d:.])(\d{1,2})\s*o'?clock\b")
_DAY_THEN_HOUR = re.compile(rf"\b({_DAY_WORDS})\s+(\d{{1,2}})$")
_NAMED = re.compile(r"\b(noon|midday|midnight)\b")
_NUMERIC_DATE = re.compile(
    r"(?<![\d/.-])\d{1,2}/\d{1,2}(?:/\d{2,4})?(?![\d/])|(?<![\d/.-])\d{1,2}-\d{1,2}-\d{2,4}(?![\d-])"
    r"|(?<![\d.])\d{1,2}\.\d{1,2}\.\d{2,4}(?![\d.])"
)
_ISO = re.compile(r"^\d{4}-\d{2}-\d{2}(?:[t ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,6})?)?)?$")
_PLACEHOLDER = "zzclockzz"


def _bare_hour(hour_text: str, minute: int = 0) -> time:
    """The bare-hour rule from the module docstring."""
    hour = int(hour_text)
    if hour > 23 or minute > 59:
        raise TimeError(f"{hour_text}:{minute:02d} is not a time of day", _EXAMPLE)
    if 1 <= hour <= 6 and not hour_text.startswith("0"):
        hm = f"{hour}:{minute:02d}" if minute else str(hour)
        error = TimeError(f"{hm} without am or pm is ambiguous: did you mean {hm}am or {hm}pm",
                          f"tomorrow {hm}pm")
        error.hour_text = hm  # type: ignore[attr-defined]  # lets the caller rewrite its own phrase
        raise error
    return time(hour, minute)


def _twelve_hour(hour_text: str, minute_text: str | None, half: str) -> time:
    hour, minute = int(hour_text), int(minute_text or 0)
    if not 1 <= hour <= 12 or minute > 59:
        raise TimeError(f"{hour_text}{':' + minute_text if minute_text else ''}{half}m is not a time of day",
                        _EXAMPLE)
    return time(hour % 12 + (12 if half == "p" else 0), minute)


def _take_time(text: str) -> tuple[str, time | None]:
    """Find the one time of day in the phrase and put a placeholder where it was."""
    found: list[time] = []

    def sub(pattern: re.Pattern[str], read: Any) -> None:
        nonlocal text

        def replace(match: re.Match[str]) -> str:
            found.append(read(match))
            return f" {_PLACEHOLDER} "

        text = pattern.sub(replace, text)

    sub(_TWELVE_HOUR, lambda m: _twelve_hour(m.group(1), m.group(2), m.group(3)))
    sub(_NAMED, lambda m: time(0) if m.group(1) == "midnight" else time(12))
    sub(_CLOCK, lambda m: _bare_hour(m.group(1), int(m.group(2))))
    sub(_AT_HOUR, lambda m: _bare_hour(m.group(1)))
    sub(_OCLOCK, lambda m: _bare_hour(m.group(1)))
    match = _DAY_THEN_HOUR.search(text)
    if match:
        found.append(_bare_hour(match.group(2)))
        text = text[: match.start(2)] + _PLACEHOLDER
    if len(found) > 1:
        raise TimeError("more than one time of day in the phrase: keep one", _EXAMPLE)
    text = re.sub(rf"(?:\bat|@)\s+(?={_PLACEHOLDER})", "", text)
    return " ".join(text.split()), (found[0] if found else None)


# --- durations -------------------------------------------------------------------------------------------

_UNITS = {
    "m": "minutes", "min": "minutes", "mins": "minutes", "minute": "minutes", "minutes": "minutes",
    "h": "hours", "hr": "hours", "hrs": "hours", "hour": "hours", "hours": "hours",
    "d": "days", "day": "days", "days": "days", "w": "weeks", "week": "weeks", "weeks": "weeks",
}
_WORD_NUMBERS = {"a": 1.0, "an": 1.0, "one": 1.0, "two": 2.0, "three": 3.0}
_DURATION_PART = re.compile(
    r"(\d+(?:\.\d+)?|an?|one|two|three)\s*(" + "|".join(sorted(_UNITS, key=len, reverse=True)) + r")\b"
)


def _duration(text: str) -> timedelta | None:
    """"in 2 hours", "in 1 hour and 30 minutes", "90 min from now", "in half an hour"; else None."""
    match = re.fullmatch(r"in\s+(.+)|(.+?)\s+from\s+now", text)
    if not match:
        return None
    body = (match.group(1) or match.group(2)).replace(",", " ")
    if re.fullmatch(r"half\s+an?\s+hour", body):
        return timedelta(minutes=30)
    body = re.sub(r"\band\b", " ", body)
    total, pos = timedelta(0), 0
    for part in _DURATION_PART.finditer(body):
        if body[pos:part.start()].strip():
            return None
        count = _WORD_NUMBERS.get(part.group(1)) or float(part.group(1))
        try:
            total += timedelta(**{_UNITS[part.group(2)]: count})
        except OverflowError:  # "in 9999999999999 hours": beyond any calendar, so beyond max_ahead
            return timedelta.max
        pos = part.end()
    if pos == 0 or body[pos:].strip():
        return None
    return total


def _days_ahead(day_part: str, at: time) -> timedelta | None:
    """A whole number of days or weeks ahead ("in 32 days", "2 weeks from now"), said beside a time of day;
    None when `day_part` is no duration. A duration that is not whole days ("in 3 hours at 10am") contradicts
    the time of day beside it, so it is refused rather than one of the two silently dropped."""
    delta = _duration(day_part)
    if delta is None:
        return None
    if delta < timedelta(days=1) or delta % timedelta(days=1):
        days = max(1, delta.days)
        example = (f"in {days} day{'s' if days > 1 else ''} at {_say(at)}" if delta >= timedelta(days=1)
                   else day_part if delta > timedelta(0) else f"tomorrow at {_say(at)}")
        raise TimeError(f"{day_part!r} and {_say(at)} both say when: give a duration alone, or whole days and a "
                        "time of day", example)
    return delta


# --- dateparser, imported on first use -------------------------------------------------------------------

@cache
def _parser_class() -> Any:
    """Import dateparser once, on first use: it costs ~0.1–0.5 s, which a CLI start should not pay."""
    from dateparser.date import DateDataParser

    return DateDataParser


_LOOSE_OFFSET = re.compile(r"(?<![\w:])[+-]\d{1,4}(?![\w:])")


def _refuse_unread_zone(text: str) -> None:
    """A zone left in the words dateparser reads ("9am MEZ", "9am +02"; ours were taken out before) would be
    skipped there, the time read in the speaker's zone instead: refused, naming it, never dropped."""
    from dateparser.timezone_parser import pop_tz_offset_from_string

    rest, found = pop_tz_offset_from_string(text)
    left = rest.split()
    written = " ".join(w for w in text.split() if w not in left) or "a zone" if found is not None else None
    if written is None and (loose := _LOOSE_OFFSET.search(text)):
        written = loose.group(0)
    if written:
        raise TimeError(f"{written!r} looks like a time zone that sdassist does not read: write an IANA name "
                        f"such as {_ZONE_EXAMPLE}", "3pm Europe/Berlin")


def _dateparser_date(text: str, base: datetime, shown: str) -> tuple[date, bool, Any]:
    """The date dateparser reads in a zone-free phrase: (date, had a time of day, DateData).

    A parser is built per call because RELATIVE_BASE changes per call; building one costs ~15 µs once
    the English locale is loaded (measured), the locale itself is loaded once.
    """
    parser = _parser_class()(
        languages=["en"],
        settings={
            "PREFER_DATES_FROM": "future",
            "TIMEZONE": "UTC",
            "RETURN_AS_TIMEZONE_AWARE": False,
            "RELATIVE_BASE": base,
        },
    )
    _refuse_unread_zone(text)
    data = parser.get_date_data(text)
    if data is None or data.date_obj is None:
        raise TimeError(f"cannot read {shown!r} as a date and time",
                        "next monday at 10am")
    if data.period in ("week", "month", "year"):
        raise TimeError(f"{shown!r} names a {data.period}, not a day: "
                        "name the day and add a time of day", "next monday at 10am")
    return data.date_obj.date(), "time" in (getattr(data, "parts", None) or ()), data


# --- putting it together ---------------------------------------------------------------------------------

_QUOTES = str.maketrans({"‘": "'", "’": "'", "“": '"', "”": '"', "\u00a0": " ", "\u202f": " ", "\u2212": "-"})


def _normalise(phrase: str) -> str:
    text = (phrase or "").translate(_QUOTES).strip()
    text = text.strip("\"'` ").strip()
    return " ".join(text.split())


def _zone_label(moment: datetime, zone_name: str) -> str:
    label = moment.tzname() or zone_name
    return zone_name if label[:1] in "+-" else label


def _echo(local: datetime, utc: datetime, zone_name: str) -> str:
    def day(d: datetime) -> str:
        return f"{d:%a} {d.day} {d:%b %Y}"

    utc_part = f"{utc:%H:%M} UTC" if utc.date() == local.date() else f"{day(utc)} {utc:%H:%M} UTC"
    return f"{day(local)} {local:%H:%M} {_zone_label(local, zone_name)} = {utc_part}"


def _attach(wall: datetime, tz: tzinfo, zone_name: str, zone_suffix: str) -> datetime:
    """Attach a zone to a wall time, refusing times that do not exist or exist twice (DST)."""
    first, second = wall.replace(tzinfo=tz, fold=0), wall.replace(tzinfo=tz, fold=1)
    if first.utcoffset() == second.utcoffset():
        return first
    when = f"{wall.day} {wall:%b %Y}"
    round_trip = first.astimezone(UTC).astimezone(tz).replace(tzinfo=None)
    if round_trip != wall:
        after = wall + abs(second.utcoffset() - first.utcoffset())  # type: ignore[operator]
        raise TimeError(f"{wall:%H:%M} does not exist on {when} in {zone_name} (clocks go forward)",
                        f"{after:%Y-%m-%d %H:%M}{zone_suffix}")

    def offset(d: datetime) -> str:
        total = int(d.utcoffset().total_seconds() // 60)  # type: ignore[union-attr]
        sign = "+" if total >= 0 else "-"
        return f"{sign}{abs(total) // 60:02d}:{abs(total) % 60:02d}"

    raise TimeError(f"{wall:%H:%M} happens twice on {when} in {zone_name} (clocks go back): add the offset, "
                    f"{offset(first)} for the first or {offset(second)} for the second, or give the time in UTC",
                    f"{wall:%Y-%m-%d %H:%M} {offset(first)}")


def _weekday_date(day_part: str, at: time, now_local: datetime) -> date | None:
    """"friday", "on friday", "this friday": the next such day whose time is still ahead (today included)."""
    match = re.fullmatch(r"(?:on\s+|this\s+)?(\w+)", day_part)
    if not match or match.group(1) not in _WEEKDAYS:
        return None
    ahead = (_WEEKDAYS[match.group(1)] - now_local.weekday()) % 7
    candidate = now_local.date() + timedelta(days=ahead)
    if ahead == 0 and datetime.combine(candidate, at) <= now_local.replace(tzinfo=None):
        candidate += timedelta(days=7)
    return candidate


# --- days, months, years and weekdays written in the phrase -----------------------------------------------

_MONTHS = {
    "january": 1, "jan": 1, "february": 2, "feb": 2, "march": 3, "mar": 3, "april": 4, "apr": 4, "may": 5,
    "june": 6, "jun": 6, "july": 7, "jul": 7, "august": 8, "aug": 8, "september": 9, "sept": 9, "sep": 9,
    "october": 10, "oct": 10, "november": 11, "nov": 11, "december": 12, "dec": 12,
}
_MONTH_NAMES = ["", "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
_DAY_NAMES = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
_DAYS_IN = [0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]  # February: 29 in some year


def _say(at: time | None) -> str:
    """A time of day as a person writes it ("9am", "5:30pm"), for examples that keep their time."""
    if at is None:
        return "9am"
    hour = at.hour % 12 or 12
    minutes = f":{at.minute:02d}" if at.minute else ""
    return f"{hour}{minutes}{'am' if at.hour < 12 else 'pm'}"


def _numeric_date_refusal(text: str, written: str) -> TimeError:
    """"03/04 9am": both readings, each with the rest of the phrase as the person wrote it."""
    parts = [int(p) for p in re.split(r"[/.-]", written)]
    first, second, year = parts[0], parts[1], (parts[2] if len(parts) > 2 else None)
    if year is not None and year < 100:
        year += 2000
    shown_year = f" {year}" if year is not None else ""
    def last_day(month: int) -> int:  # in the year written (29 Feb only in a leap year), else in any year
        return calendar.monthrange(year, month)[1] if year is not None else _DAYS_IN[month]

    readings = []
    for day, month in ((first, second), (second, first)):  # day/month, then month/day
        if 1 <= month <= 12 and 1 <= day <= last_day(month):
            reading = f"{day} {_MONTH_NAMES[month]}{shown_year}"
            if reading not in readings:
                readings.append(reading)
    if not readings:  # no real day either way: said as such, the example the month's last day
        month = second if 1 <= second <= 12 else first if 1 <= first <= 12 else None
        fixed = [f"{last_day(month)} {_MONTH_NAMES[month]}{shown_year}"] if month else []
        examples = tuple(re.sub(re.escape(written), r, text, count=1) for r in fixed) or ("Mar 4 at 9am",)
        return TimeError(f"{written} is not a real date, read as day/month or as month/day: write the month as "
                         "a word or use year-month-day", examples[0], examples=examples)
    examples = tuple(re.sub(re.escape(written), r, text, count=1) for r in readings)
    return TimeError(f"{written} is ambiguous (day/month or month/day: {' or '.join(readings)}?): write the month "
                     "as a word or use year-month-day", examples[0], examples=examples)


def _check_calendar_words(day_part: str, at: time | None, now_local: datetime) -> None:
    """Refuse what dateparser would silently fill in: a month or a year with no day of the month (it takes
    today's day number), and a day number the month does not have (it would read it as a year)."""
    year_month = _YEAR_MONTH.search(day_part)
    if year_month:  # 2027-06, 06/2027: a month with no day, which dateparser gives today's day number
        year, month = sorted(year_month.group(1, 2) if year_month.group(1) else year_month.group(3, 4), key=len)[::-1]
        if 1 <= int(month) <= 12:
            name = _MONTH_NAMES[int(month)]
            raise TimeError(f"{year_month.group(0)!r} names a month, not a day: say which day of {name} {year}",
                            f"{name} 1 {year} at {_say(at)}")
    words = re.findall(r"[a-z]+|\d+", day_part.lower())
    months = [_MONTHS[w] for w in words if w in _MONTHS]
    numbers = [w for w in words if w.isdigit()]
    days = [int(n) for n in numbers if len(n) <= 2]
    years = [int(n) for n in numbers if len(n) == 4]
    time_said = _say(at)
    if months:
        month = months[0]
        name = _MONTH_NAMES[month]
        if not days:
            year = f" {years[0]}" if years else ""
            raise TimeError(f"{day_part!r} names a month, not a day: say which day of {name}{year}",
                            f"{name} 1{year} at {time_said}")
        for day in days:
            if not 1 <= day <= 31:
                raise TimeError(f"{day} is not a day of the month (days run from 1 to 31)",
                                f"{name} {min(max(day, 1), 28 if month == 2 else _DAYS_IN[month])} at {time_said}")
            last = _DAYS_IN[month]
            if month == 2 and years and not _is_leap(years[0]):
                last = 28
            if day > last:
                year = f" {years[0]}" if years else ""
                has = f"{last} days" if (month != 2 or years) else "28 days (29 in a leap year)"
                safe = 28 if month == 2 and not (years and _is_leap(years[0])) else last
                raise TimeError(f"{name} {day}{year} does not exist: {name} has {has}",
                                f"{name} {safe}{year} at {time_said}")
        return
    if years and not days:
        raise TimeError(f"{day_part!r} names a year, not a day: say the month and day",
                        f"Jan 5 {years[0]} at {time_said}")
    for day in days:
        if not 1 <= day <= 31:
            soon = now_local + timedelta(days=1)
            raise TimeError(f"{day} is not a day of the month (days run from 1 to 31)",
                            f"{_MONTH_NAMES[soon.month]} {soon.day} at {time_said}")


_YEAR_MONTH = re.compile(r"(?<![\d/.-])(?:(\d{4})[-/.](\d{1,2})|(\d{1,2})[-/.](\d{4}))(?![\d/.-])")


def _is_leap(year: int) -> bool:
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)


def _dated_weekdays(day_part: str) -> set[int]:
    """The weekdays written beside a date in `day_part` (empty when there is no date, as in "next friday")."""
    words = re.findall(r"[a-z]+|\d+", day_part.lower())
    weekdays = {_WEEKDAYS[w] for w in words if w in _WEEKDAYS}
    dated = any(w in _MONTHS or w.isdigit() or w in ("today", "tomorrow", "tonight") for w in words)
    return weekdays if dated else set()


def _without_weekdays(text: str) -> str:
    """The phrase with its weekday words taken out, for dateparser, which lets a weekday override a date."""
    kept = [w for w in text.split() if w.strip(",").lower() not in _WEEKDAYS]
    return " ".join(kept).strip(" ,")


_THE_DAY = re.compile(r"(?:on\s+)?the\s+(\d{1,2})")


def _day_of_month(day_part: str, at: time, now_local: datetime) -> date | None:
    """"the 14th", "on the 3rd", "friday the 11th": the next such day still ahead (dateparser may read the
    number as a month). None when the phrase is not of that shape."""
    match = _THE_DAY.fullmatch(_without_weekdays(day_part))
    if not match:
        return None
    number, year, month = int(match.group(1)), now_local.year, now_local.month
    for _ in range(13):
        if number <= calendar.monthrange(year, month)[1]:
            candidate = date(year, month, number)
            if datetime.combine(candidate, at) > now_local.replace(tzinfo=None):
                return candidate
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return None


def _check_day_taken(day_part: str, day: date) -> None:
    """The day dateparser chose must be the one written ("Dec 7", "the 14th"), never another it made up."""
    words = re.findall(r"[a-z]+|\d+", day_part.lower())
    months = {_MONTHS[w] for w in words if w in _MONTHS}
    written = [int(n) for n in re.findall(r"(?:\bthe\s+|\b)(\d{1,2})\b", day_part)] if months else [
        int(n) for n in re.findall(r"\bthe\s+(\d{1,2})\b", day_part)]
    if (months and day.month not in months) or (len(written) == 1 and day.day != written[0]):
        raise TimeError(f"cannot read the day in {day_part!r}: write the month as a word and the day as a number",
                        "Dec 7 at 9am")


def _check_weekday(day_part: str, day: date, at: time | None) -> None:
    """A weekday written beside a date ("tuesday Dec 7", "friday the 11th", "tomorrow friday") must be that
    date's weekday: refused naming both, never one side dropped."""
    _check_day_taken(day_part, day)
    for weekday in _dated_weekdays(day_part):
        if weekday != day.weekday():
            written = f"{_MONTH_NAMES[day.month]} {day.day} {day.year}"
            year = f" {day.year}" if str(day.year) in day_part else ""  # the hint keeps a year written
            raise TimeError(f"{day_part!r}: {written} is a {_DAY_NAMES[day.weekday()]}, not a "
                            f"{_DAY_NAMES[weekday]}: keep the date or the weekday",
                            f"{_DAY_NAMES[day.weekday()][:3]} {_MONTH_NAMES[day.month]} {day.day}{year} at {_say(at)}")


MAX_PHRASE_CHARS = 200
"""Longer than any time people write ("next wednesday at 10:30pm America/Argentina/ComodRivadavia" is 58)."""


def resolve_time(
    phrase: str,
    *,
    zone: str | None = None,
    now: datetime | None = None,
    default_zone: str = "UTC",
    max_ahead: timedelta = timedelta(days=366),
    zone_field: str = "zone",
    default_zone_field: str = "SDASSIST_TIMEZONE",
) -> ResolvedTime:
    """Resolve a phrase in the speaker's zone (`zone`, else `default_zone`) to a future UTC moment.

    A zone written in the phrase wins over `zone`. `now` is for tests and for callers with a clock of their
    own; a naive `now` is taken as UTC. Raises TimeError, with a reason and a working example, for the
    past, the ambiguous and the unreadable (never a bare ValueError or OverflowError). A zone that cannot be
    read is refused with `field` set to where it came from (`zone_field`, or `default_zone_field`).
    """
    tz = _given_zone(zone, default_zone, zone_field, default_zone_field)
    if len(phrase) > MAX_PHRASE_CHARS:  # refused before parsing, and never repeated back in full
        raise TimeError(f"is {len(phrase):,} characters: a time is a few words (at most {MAX_PHRASE_CHARS}), "
                        "such as a day and a time of day", _EXAMPLE)
    try:
        return _resolve(phrase, tz=tz, now=now, max_ahead=max_ahead)
    except TimeError:
        raise
    except OverflowError:
        raise TimeError(f"{_normalise(phrase)!r} falls outside the calendar", _EXAMPLE) from None
    except ValueError as exc:
        raise TimeError(f"cannot read {_normalise(phrase)!r} as a date and time ({exc})", _EXAMPLE) from None


def _given_zone(zone: str | None, default_zone: str, zone_field: str, default_zone_field: str) -> tzinfo:
    """The speaker's zone; a refusal names the input it came from, never the phrase."""
    name, field = (zone, zone_field) if zone else (default_zone, default_zone_field)
    try:
        return parse_zone(name)
    except TimeError as exc:
        exc.field = field
        exc.message = f"{exc.message}; it is the zone times are read in, not part of the phrase"
        exc.example = "UTC+2" if _ZONE_OFFSET.match((name or "").strip()) else "Europe/Berlin"
        exc.examples = (exc.example,)
        raise


NOW_PHRASES = ("now", "right now", "immediately")


def is_now(phrase: str) -> bool:
    """Whether a phrase means this very moment ("now", "right now", "immediately")."""
    return _normalise(phrase).lower().strip(" ,.") in NOW_PHRASES


_ASAP = re.compile(r"asap|a\.s\.a\.p\.?|as soon as (?:possible|you can|approved)|right away|straight away|"
                   r"immediately after approval|once approved|soon|whenever")


def _resolve(phrase: str, *, tz: tzinfo, now: datetime | None, max_ahead: timedelta) -> ResolvedTime:
    text = _normalise(phrase)
    if not text:
        raise TimeError("no time given: say when", _EXAMPLE)
    now_utc = (now or datetime.now(UTC))
    now_utc = now_utc.replace(tzinfo=UTC) if now_utc.tzinfo is None else now_utc.astimezone(UTC)

    text, phrase_zone, phrase_zone_name = _take_zone(text)
    if phrase_zone is not None:
        tz = phrase_zone
        name = zone_name(phrase_zone)
        zone_suffix = f" {name}"
    else:
        name = zone_name(tz)
        zone_suffix = ""
    now_local = now_utc.astimezone(tz)
    lower = text.lower().strip(" ,.")
    if not lower and phrase_zone is not None:
        raise TimeError(f"only a time zone ({phrase_zone_name}) was given: add the day and time",
                        f"tomorrow 9am{zone_suffix}")

    if _ASAP.fullmatch(lower):
        raise TimeError(f"{text!r} is not a time: to publish as soon as it is approved, set publish_now (or say "
                        f"\"now\"); to schedule, give a day and time", "now")
    if lower in NOW_PHRASES:
        return _result(now_utc, tz, name, phrase)
    delta = _duration(lower)
    if delta is not None:
        if delta <= timedelta(0):
            raise TimeError("a duration must be more than zero", "in 2 hours")
        if delta > max_ahead:
            raise TimeError(f"{text} is more than {max_ahead.days:,} days ahead", "in 2 hours")
        return _checked(now_utc + delta, tz, name, phrase, now_utc, max_ahead, None)

    if _ISO.match(lower):
        try:
            wall = datetime.fromisoformat(lower.replace("t", "T"))
        except ValueError as exc:  # "2026-02-30 10:00", "2026-13-01", "25:00": shaped right, not a real time
            example = f"{(now_local + timedelta(days=1)):%Y-%m-%d} 09:00{zone_suffix}"
            raise TimeError(f"{text} is not a real date and time ({exc})", example) from None
        if len(lower) == 10:
            raise TimeError(f"{text} has no time of day: add one", f"{text} 09:00{zone_suffix}")
        return _checked(_attach(wall, tz, name, zone_suffix), tz, name, phrase, now_utc, max_ahead,
                        zone_suffix)

    numeric = _NUMERIC_DATE.search(lower)
    if numeric:
        raise _numeric_date_refusal(text, numeric.group(0))

    lower = re.sub(r"\btonight\b", "today", lower)
    lower = re.sub(r"\b(\d{1,2})(st|nd|rd|th)\b", r"\1", lower)
    try:
        rest, at = _take_time(lower)
    except TimeError as error:
        hm = getattr(error, "hour_text", None)
        if hm is not None:
            error.example = re.sub(rf"(?<![\d:]){re.escape(hm)}(?![\d:])", f"{hm}pm", text, count=1)
        raise
    day_part = rest.replace(_PLACEHOLDER, "").strip(" ,")
    days_ahead = _days_ahead(day_part, at) if at is not None else None
    if days_ahead is not None:  # "in 32 days at 10am", "2 weeks from now at 9": that day, at that time
        wall = datetime.combine(now_local.date() + days_ahead, at)
        return _checked(_attach(wall, tz, name, zone_suffix), tz, name, phrase, now_utc, max_ahead,
                        zone_suffix)
    _check_calendar_words(day_part, at, now_local)
    if at is None:
        # No time we recognise: let dateparser try the whole phrase, then insist on a time of day.
        base = now_local.replace(tzinfo=None)
        asked = _without_weekdays(rest) if _dated_weekdays(day_part) else rest
        parsed_date, has_time, data = _dateparser_date(asked, base, text)
        if not has_time:
            shown = text if len(text) <= 40 else text[:37] + "..."
            if "tonight" in text.lower():
                example = "tonight 8pm"
            elif len(text) <= 40 and not re.search(r"\bat\b", text):
                example = f"{text} at 9am"
            else:
                example = _EXAMPLE
            raise TimeError(f"{shown!r} has no time of day: add one", example)
        wall = data.date_obj.replace(microsecond=0)
        _check_weekday(day_part, wall.date(), at)
    else:
        hhmm = f"{at:%H:%M}"
        if not day_part:
            parsed_date = _time_only_date(at, now_local)
        else:
            parsed_date = _weekday_date(day_part, at, now_local) or _day_of_month(day_part, at, now_local)
            if parsed_date is None:
                asked = _without_weekdays(rest) if _dated_weekdays(day_part) else rest
                parsed_date, has_time, _ = _dateparser_date(
                    asked.replace(_PLACEHOLDER, hhmm), now_local.replace(tzinfo=None), day_part or text
                )
                if not has_time:
                    raise TimeError(f"cannot read the time of day in {text!r}", _EXAMPLE)
        _check_weekday(day_part, parsed_date, at)
        wall = datetime.combine(parsed_date, at)
    return _checked(_attach(wall, tz, name, zone_suffix), tz, name, phrase, now_utc, max_ahead,
                    zone_suffix)


def _time_only_date(at: time, now_local: datetime) -> date:
    """A time with no day ("9am", "17:00") is its next occurrence: today if still ahead, else tomorrow."""
    today = now_local.date()
    if datetime.combine(today, at) > now_local.replace(tzinfo=None):
        return today
    return today + timedelta(days=1)


def _checked(moment: datetime, tz: tzinfo, zone_name: str, phrase: str, now_utc: datetime,
             max_ahead: timedelta, zone_suffix: str | None) -> ResolvedTime:
    """Refuse the past and the too-far future; otherwise build the result."""
    utc = moment.astimezone(UTC)
    local = utc.astimezone(tz)
    if utc < now_utc:
        now_local = now_utc.astimezone(tz)
        raise TimeError(
            f"{_echo(local, utc, zone_name)} is in the past (it is now {now_local:%a} {now_local.day} "
            f"{now_local:%b %H:%M} {_zone_label(now_local, zone_name)})",
            f"tomorrow {local:%H:%M}{zone_suffix or ''}",
        )
    if utc - now_utc > max_ahead:
        raise TimeError(f"{_echo(local, utc, zone_name)} is more than {max_ahead.days:,} days ahead",
                        "next monday at 10am")
    return _result(utc, tz, zone_name, phrase)


def _result(utc: datetime, tz: tzinfo, zone_name: str, phrase: str) -> ResolvedTime:
    utc = utc.astimezone(UTC)
    local = utc.astimezone(tz)
    return ResolvedTime(utc=utc, local=local, zone=zone_name, phrase=phrase, echo=_echo(local, utc, zone_name))
