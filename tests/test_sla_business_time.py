"""Business-time arithmetic on a calendar: weekends, holidays, DST changes, times outside working hours.

Pure functions (no services): the workflow computes every SLA time with these from ``workflow.now()``.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from plugin.engine.sla.business_time import (
    CalendarError,
    add_business_time,
    business_moments,
    calendar_problems,
    parse_calendar,
)

PARIS = ZoneInfo("Europe/Paris")
OFFICE = parse_calendar({"time_zone": "Europe/Paris", "working_days": ["mon", "tue", "wed", "thu", "fri"],
                         "hours": {"start": "09:00", "end": "17:00"},
                         "holidays": ["2026-12-21", "2026-12-25"]})
HOUR = 3600


def paris(*args: int) -> datetime:
    return datetime(*args, tzinfo=PARIS)


def local(moment: datetime) -> datetime:
    return moment.astimezone(PARIS).replace(tzinfo=None)


def test_friday_afternoon_before_a_monday_holiday_is_due_tuesday():
    # Friday 18 December 15:00: two hours left that day; Saturday, Sunday and the Monday holiday do not count.
    due = add_business_time(paris(2026, 12, 18, 15), 8 * HOUR, OFFICE)
    assert local(due) == datetime(2026, 12, 22, 15, 0)
    assert due.tzinfo is UTC and due == datetime(2026, 12, 22, 14, 0, tzinfo=UTC)


def test_crossing_a_weekend():
    assert local(add_business_time(paris(2026, 12, 11, 16), 2 * HOUR, OFFICE)) == datetime(2026, 12, 14, 10, 0)


def test_a_holiday_midweek_is_skipped():
    # Thursday 24 December 16:30 + 1h: 30 minutes on Thursday, Friday 25 is a holiday, so Monday 28 09:30.
    assert local(add_business_time(paris(2026, 12, 24, 16, 30), HOUR, OFFICE)) == datetime(2026, 12, 28, 9, 30)


@pytest.mark.parametrize(("start", "expected"), [
    (paris(2026, 12, 15, 20), datetime(2026, 12, 16, 10, 0)),   # evening: counts from the next morning
    (paris(2026, 12, 15, 7), datetime(2026, 12, 15, 10, 0)),    # early morning: from 09:00 the same day
    (paris(2026, 12, 12, 11), datetime(2026, 12, 14, 10, 0)),   # Saturday: from Monday 09:00
    (paris(2026, 12, 15, 17), datetime(2026, 12, 16, 10, 0)),   # exactly at closing time
    (paris(2026, 12, 15, 16), datetime(2026, 12, 15, 17, 0)),   # the last hour: due at closing, not next day
])
def test_a_start_outside_working_hours_counts_from_the_next_window(start, expected):
    assert local(add_business_time(start, HOUR, OFFICE)) == expected


def test_exactly_a_days_work_ends_at_closing_time():
    assert local(add_business_time(paris(2026, 12, 15, 9), 8 * HOUR, OFFICE)) == datetime(2026, 12, 15, 17, 0)


def test_working_hours_follow_local_time_across_the_autumn_dst_change():
    # Friday 23 October 2026 16:00 CEST (UTC+2) + 2h: one hour Friday, then Monday 26 10:00 CET (UTC+1).
    due = add_business_time(paris(2026, 10, 23, 16), 2 * HOUR, OFFICE)
    assert local(due) == datetime(2026, 10, 26, 10, 0) and due == datetime(2026, 10, 26, 9, 0, tzinfo=UTC)


def test_a_day_that_dst_shortens_or_lengthens_counts_the_hours_really_worked():
    sundays = parse_calendar({"time_zone": "Europe/Paris", "working_days": ["sun"],
                              "hours": {"start": "00:00", "end": "24:00"}})
    # Sunday 29 March 2026 has 23 hours in Paris: the 24th hour of work is the next Sunday's first.
    assert local(add_business_time(paris(2026, 3, 29, 0), 24 * HOUR, sundays)) == datetime(2026, 4, 5, 1, 0)
    # Sunday 25 October 2026 has 25 hours: 25 hours of work fit in it, ending at its midnight.
    assert local(add_business_time(paris(2026, 10, 25, 0), 25 * HOUR, sundays)) == datetime(2026, 10, 26, 0, 0)


def test_new_york_hours_are_new_york_time():
    calendar = parse_calendar({"time_zone": "America/New_York", "hours": {"start": "08:30", "end": "12:00"}})
    due = add_business_time(datetime(2026, 7, 3, 15, 0, tzinfo=UTC), 3 * HOUR, calendar)  # Friday 11:00 EDT
    assert due == datetime(2026, 7, 6, 14, 30, tzinfo=UTC)  # one hour Friday, two Monday from 08:30 EDT


def test_without_a_calendar_time_runs_around_the_clock():
    start = datetime(2026, 12, 19, 23, tzinfo=UTC)
    assert add_business_time(start, 5 * HOUR, None) == start + timedelta(hours=5)


def test_a_calendar_with_no_working_time_left_is_refused_not_looped_on():
    mondays = [date(2026, 12, 14) + timedelta(weeks=n) for n in range(600)]
    calendar = parse_calendar({"time_zone": "UTC", "working_days": ["mon"], "hours": {"start": "09:00",
                               "end": "10:00"}, "holidays": [d.isoformat() for d in mondays]})
    with pytest.raises(CalendarError, match="no working time"):
        add_business_time(datetime(2026, 12, 14, tzinfo=UTC), HOUR, calendar)


@pytest.mark.parametrize(("spec", "field", "words"), [
    ({"time_zone": "Europe/Pariss", "hours": {"start": "09:00", "end": "17:00"}}, "time_zone", "not a known"),
    ({"time_zone": "UTC", "hours": {"start": "17:00", "end": "09:00"}}, "hours", "not after start"),
    ({"time_zone": "UTC", "hours": {"start": "9am", "end": "17:00"}}, "hours", "HH:MM"),
    ({"time_zone": "UTC", "hours": {"start": "09:00"}}, "hours", "must be an object"),
    ({"time_zone": "UTC", "hours": {"start": "09:00", "end": "17:00"}, "holidays": ["tomorrow"]},
     "holidays[0]", "YYYY-MM-DD"),
    ({"time_zone": "UTC", "hours": {"start": "09:00", "end": "17:00"}, "holidays": ["2026-02-30"]},
     "holidays[0]", "not a date"),
    ({"time_zone": "UTC", "hours": {"start": "09:00", "end": "17:00"}, "working_days": ["monday"]},
     "working_days", "non-empty list"),
    ({"time_zone": "UTC", "hours": {"start": "09:00", "end": "17:00"}, "working_days": []},
     "working_days", "non-empty list"),
    ({"time_zone": "UTC", "hours": {"start": "09:00", "end": "17:00"}, "weekends": True}, "weekends",
     "not a calendar field"),
])
def test_bad_calendars_are_named_field_by_field(spec, field, words):
    problems = calendar_problems(spec)
    assert any(f == field and words in message for f, message in problems), problems
    with pytest.raises(CalendarError):
        parse_calendar(spec)


moments = st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2027, 12, 31),
                       timezones=st.just(UTC))
amounts = st.integers(min_value=1, max_value=200 * HOUR)


@settings(max_examples=200, deadline=None)
@given(moments, amounts, amounts)
def test_business_time_adds_up_and_lands_inside_working_hours(start, first, second):
    once = add_business_time(start, first + second, OFFICE)
    assert add_business_time(add_business_time(start, first, OFFICE), second, OFFICE) == once
    at = once.astimezone(PARIS)
    assert at.weekday() < 5 and at.date() not in (date(2026, 12, 21), date(2026, 12, 25))
    assert (9, 0, 0, 0) < (at.hour, at.minute, at.second, at.microsecond) <= (17, 0, 0, 0)


@settings(max_examples=100, deadline=None)
@given(moments, st.lists(amounts, max_size=8))
def test_several_moments_in_one_walk_are_each_moment_alone(start, offsets):
    offsets = sorted(offsets)
    assert business_moments(start, offsets, OFFICE) == [add_business_time(start, o, OFFICE) for o in offsets]
