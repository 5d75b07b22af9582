"""The cron expressions a schedule may use: the five-field grammar Temporal's scheduler parses, checked before
Temporal is asked, so a mistake is a 422 naming ``cron`` (and a line in ``workspace check``), never a 500.

Temporal (``service/worker/scheduler``) reads each field as comma-separated parts, each ``*``, a value or a
range ``a-b`` (``a <= b``), optionally ``/step`` with ``1 <= step < 2**31``; months and weekdays may be
named. It has no ``L``, ``W``, ``?`` or ``H``, and ``#`` starts a comment there (``5#2`` means Friday, not the
second Friday as in other crons). The plugin accepts the part of that grammar that croniter (which counts a
schedule's due times for the backfill guard) reads the same way: numbers and three-letter names, no comments,
no signs. tests/test_schedule_cron.py holds it against the Temporal server itself.
"""

from __future__ import annotations

import re

MAX_STEP = 2**31 - 1  # Temporal keeps a step as an int32
MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
WEEKDAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")
# field name, smallest and largest value, names (value of the first name)
FIELDS: tuple[tuple[str, int, int, tuple[str, ...], int], ...] = (
    ("minute", 0, 59, (), 0),
    ("hour", 0, 23, (), 0),
    ("day of month", 1, 31, (), 0),
    ("month", 1, 12, MONTHS, 1),
    ("day of week", 0, 7, WEEKDAYS, 0),
)
_VALUE = re.compile(r"^(?:[0-9]{1,4}|[A-Za-z]{3})$")


def _value(text: str, low: int, high: int, names: tuple[str, ...], first: int) -> int:
    if not _VALUE.match(text):
        raise ValueError(f"{text!r} is not a number")
    if text.isdigit():
        number = int(text)
    elif text.lower() in names:
        number = names.index(text.lower()) + first
    else:
        raise ValueError(f"{text!r} is not a number" + (f" or one of {', '.join(names)}" if names else ""))
    if not low <= number <= high:
        raise ValueError(f"{number} is outside {low}-{high}")
    return number


def _part(part: str, low: int, high: int, names: tuple[str, ...], first: int) -> None:
    base, slash, step = part.partition("/")
    if slash:
        if not step.isdigit() or not 1 <= int(step) <= MAX_STEP:
            raise ValueError(f"the step in {part!r} must be a whole number from 1 to {MAX_STEP}")
    if base == "*":
        return
    start, dash, end = base.partition("-")
    start_value = _value(start, low, high, names, first)
    if dash and _value(end, low, high, names, first) < start_value:
        raise ValueError(f"the range {base!r} ends before it starts")


def cron_problem(expression: str) -> str | None:
    """What is wrong with a five-field cron expression, as a sentence; None when Temporal and croniter both
    accept it and read it the same way."""
    fields = expression.split()
    if len(fields) != len(FIELDS):
        return f"it has {len(fields)} fields, not 5"
    for text, (name, low, high, names, first) in zip(fields, FIELDS, strict=True):
        for part in text.split(","):
            try:
                _part(part, low, high, names, first)
            except ValueError as exc:
                return f"{name} field {text!r}: {exc}"
    return None
