"""Cron schedules as a Kubernetes CronJob reads them, and when one last fired. Pure.

Kubernetes takes five fields (minute, hour, day of month, month, day of week) with `*`,
`?`, lists, ranges, steps and month or day names, or a macro such as `@daily`; croniter
reads a superset (seconds, `L`, `#`), so what Kubernetes would refuse is refused here
first. campus renders every CronJob with `timeZone: Etc/UTC`: schedules are in UTC.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta

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
