"""Cron schedules as a Kubernetes CronJob reads them, and when one last fired. Pure.

Kubernetes takes five fields (minute, hour, day of month, month, day of week) with `*`,
`?`, lists, ranges, steps and month or day names, or a macro such as `@daily`; croniter
reads a superset (seconds, `L`, `#`), so what Kubernetes would refuse is refused here
first. campus renders every CronJob with `timeZone: Etc/UTC`: schedules are in UTC.
"""

from __future__ import annotations

import functools
import re
from datetime import UTC, datetime, timedelta

from croniter import croniter

MACROS = frozenset(
    {"@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly"}
)
_FIELDS = ("minute", "hour", "day of month", "month", "day of week")
_NAMES = {
    3: {"jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"},
    4: {"sun", "mon", "tue", "wed", "thu", "fri", "sat"},
}
_CHARACTERS = re.compile(r"^[0-9A-Za-z*?/,-]+$")


def check_schedule(text: str) -> str:
    """The schedule, stripped, or a ValueError saying what Kubernetes would refuse."""
    schedule = " ".join(str(text).split())
    if schedule in MACROS:
        return schedule
    fields = schedule.split(" ")
    if len(fields) != len(_FIELDS):
        raise ValueError(
            f"{text!r} is not a cron schedule: five fields (minute hour day-of-month month "
            f"day-of-week, e.g. '0 3 * * *') or one of {', '.join(sorted(MACROS))}"
        )
    for index, field in enumerate(fields):
        words = [w for w in re.split(r"[,/-]", field) if w.isalpha()]
        odd = [w for w in words if w.lower() not in _NAMES.get(index, set())]
        if not _CHARACTERS.match(field) or odd:
            raise ValueError(
                f"{text!r}: the {_FIELDS[index]} field {field!r} is not one Kubernetes "
                "reads (numbers, '*', '?', lists, ranges, steps, month and day names)"
            )
    if not croniter.is_valid(schedule):
        raise ValueError(f"{text!r} is not a valid cron schedule (a value out of range?)")
    return schedule


def last_run(schedule: str, at: datetime) -> datetime:
    """The last time at or before `at` (aware, UTC) the schedule fired."""
    found = croniter(schedule, at + timedelta(seconds=1)).get_prev(datetime)
    assert isinstance(found, datetime)
    return found


# A schedule naming neither days nor months repeats daily; one naming weekdays alone,
# weekly; any other within eight years (29 February on a given weekday aside, which
# Kubernetes schedules too rarely to matter).
_DAY, _WEEK, _YEARS = timedelta(days=1), timedelta(days=7), timedelta(days=8 * 366)
_ANY = ("*", "?")
_PERIODS = {"@hourly": _DAY, "@daily": _DAY, "@midnight": _DAY, "@weekly": _WEEK}
_MOST_FIRINGS = 20_000  # a bound for schedules firing by the minute on some days only
_GAP_START = datetime(2001, 1, 1, tzinfo=UTC)


def _period(schedule: str) -> timedelta:
    if schedule in MACROS:
        return _PERIODS.get(schedule, _YEARS)
    _, _, day, month, weekday = schedule.split(" ")
    if day in _ANY and month == "*":
        return _DAY if weekday in _ANY else _WEEK
    return _YEARS


@functools.cache
def longest_gap(schedule: str) -> timedelta:
    """The longest time between two consecutive firings of a checked schedule: how long
    the last successful run may stand before one was missed. Firings are counted over
    one period of the schedule's pattern, and the gap across its end."""
    period = _period(schedule)
    firings = croniter(schedule, _GAP_START)
    first = previous = firings.get_next(datetime)
    longest = timedelta(0)
    for _ in range(_MOST_FIRINGS):
        following = firings.get_next(datetime)
        longest = max(longest, following - previous)
        if following - first > period:
            break
        previous = following
    return longest
