"""Business time on a calendar: working days, working hours in a time zone, and holidays.

``add_business_time(start, seconds, calendar)`` is the one operation the workflow needs: the moment at which
``seconds`` of working time have passed since ``start``. A window's length is real elapsed time (converted
through UTC), so a working day that a DST change shortens or lengthens counts what people actually worked.
Holidays are local dates of the calendar's zone.
"""

from __future__ import annotations

import re
import zoneinfo
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from typing import Any

DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
WEEKDAYS = DAY_NAMES[:5]
# How far ahead a due time may be looked for: a calendar with no working time in ten years is a mistake.
MAX_DAYS = 3660
_CLOCK = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$|^24:00$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


class CalendarError(ValueError):
    """A calendar that cannot be used (the message says why, in plain words)."""


@dataclass(frozen=True)
class Calendar:
    """A parsed calendar: working days (0 = Monday), working hours as minutes since local midnight, holidays."""

    time_zone: str
    working_days: frozenset[int]
    start_minute: int
    end_minute: int
    holidays: frozenset[date]

    @property
    def zone(self) -> zoneinfo.ZoneInfo:
        return _zone(self.time_zone)

    def window(self, day: date) -> tuple[datetime, datetime] | None:
        """The working window of a local date in UTC, or None on a day off."""
        if day.weekday() not in self.working_days or day in self.holidays:
            return None
        return self._at(day, self.start_minute), self._at(day, self.end_minute)

    def _at(self, day: date, minute: int) -> datetime:
        if minute == 24 * 60:
            day, minute = day + timedelta(days=1), 0
        local = datetime.combine(day, time(minute // 60, minute % 60), tzinfo=self.zone)
        return local.astimezone(UTC)


@cache
def _zone(name: str) -> zoneinfo.ZoneInfo:
    return zoneinfo.ZoneInfo(name)


@cache
def _known_zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones()) | {"UTC"}


def _clock(value: Any, where: str) -> int:
    if not isinstance(value, str) or not _CLOCK.match(value):
        raise CalendarError(f"{where} must be a time of day as HH:MM (00:00 to 24:00), not {value!r}")
    hours, minutes = value.split(":")
    return int(hours) * 60 + int(minutes)


def _holiday(value: Any, index: int) -> date:
    where = f"holidays[{index}]"
    if not isinstance(value, str) or not _DATE.match(value):
        raise CalendarError(f"{where} must be a date as YYYY-MM-DD, not {value!r}")
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise CalendarError(f"{where} {value!r} is not a date of the calendar") from None


def calendar_problems(spec: Any) -> list[tuple[str, str]]:
    """(field, message) for each thing wrong with a calendar's declaration (empty when it is fine)."""
    if not isinstance(spec, dict):
        return [("", "must be an object with time_zone, working_days, hours and holidays")]
    problems = []
    for name in sorted(set(spec) - {"time_zone", "working_days", "hours", "holidays", "description"}):
        problems.append((name, "is not a calendar field (time_zone, working_days, hours, holidays, description)"))
    zone = spec.get("time_zone")
    if not isinstance(zone, str) or zone not in _known_zones():
        problems.append(("time_zone", f"{zone!r} is not a known time zone (an IANA name such as 'Europe/Paris')"))
    days = spec.get("working_days", list(WEEKDAYS))
    if not isinstance(days, list) or not days or not all(d in DAY_NAMES for d in days):
        problems.append(("working_days", f"must be a non-empty list of {', '.join(DAY_NAMES)}, not {days!r}"))
    elif len(set(days)) != len(days):
        problems.append(("working_days", "names a day twice"))
    hours = spec.get("hours")
    if not isinstance(hours, dict) or set(hours) != {"start", "end"}:
        problems.append(("hours", "must be an object {\"start\": \"09:00\", \"end\": \"17:00\"}"))
    else:
        try:
            start, end = _clock(hours["start"], "hours.start"), _clock(hours["end"], "hours.end")
            if end <= start:
                problems.append(("hours", f"end {hours['end']} is not after start {hours['start']}"))
        except CalendarError as exc:
            problems.append(("hours", str(exc).removeprefix("hours.start ").removeprefix("hours.end ")))
    holidays = spec.get("holidays", [])
    if not isinstance(holidays, list):
        problems.append(("holidays", "must be a list of dates as YYYY-MM-DD"))
    else:
        for index, value in enumerate(holidays):
            try:
                _holiday(value, index)
            except CalendarError as exc:
                problems.append((f"holidays[{index}]", str(exc).removeprefix(f"holidays[{index}] ")))
    return problems


def parse_calendar(spec: dict[str, Any]) -> Calendar:
    """A Calendar from its declaration; CalendarError naming the first problem."""
    problems = calendar_problems(spec)
    if problems:
        field, message = problems[0]
        raise CalendarError(f"{field} {message}".strip())
    return Calendar(
        time_zone=spec["time_zone"],
        working_days=frozenset(DAY_NAMES.index(d) for d in spec.get("working_days", WEEKDAYS)),
        start_minute=_clock(spec["hours"]["start"], "hours.start"),
        end_minute=_clock(spec["hours"]["end"], "hours.end"),
        holidays=frozenset(_holiday(v, i) for i, v in enumerate(spec.get("holidays", []))),
    )


def add_business_time(start: datetime, seconds: float, calendar: Calendar | None) -> datetime:
    """The moment (UTC) when ``seconds`` of working time have passed since ``start`` (an aware datetime).

    A start outside working hours counts from the next working window. Without a calendar, time runs around
    the clock. CalendarError when the calendar has no working time in the next ten years.
    """
    return business_moments(start, [seconds], calendar)[0]


def business_moments(start: datetime, offsets: list[float], calendar: Calendar | None) -> list[datetime]:
    """``add_business_time`` for several amounts of working time (ascending) in one walk over the calendar."""
    cursor = start.astimezone(UTC)
    wanted = [timedelta(seconds=s) for s in offsets]
    if calendar is None:
        return [cursor + amount for amount in wanted]
    found: list[datetime] = []
    worked = timedelta(0)  # working time between start and cursor
    day = cursor.astimezone(calendar.zone).date() - timedelta(days=1)  # a window may end after local midnight
    for _ in range(MAX_DAYS):
        window = calendar.window(day)
        day += timedelta(days=1)
        if window is None or cursor >= window[1]:
            continue
        begin = max(cursor, window[0])
        while len(found) < len(wanted) and wanted[len(found)] - worked <= window[1] - begin:
            found.append(begin + (wanted[len(found)] - worked))
        if len(found) == len(wanted):
            return found
        worked += window[1] - begin
        cursor = window[1]
    raise CalendarError(f"the calendar has no working time in the {MAX_DAYS} days after {start.isoformat()}")
