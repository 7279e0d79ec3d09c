"""When a schedule fires: the schedule model (``schedule:`` of a pipeline, as a plain mapping) and
its time arithmetic — fire times, the ticks due under each catchup policy, and each tick's logical
time and data interval.

Every instant here is a timezone-aware datetime in UTC. Comparing two aware datetimes that share one
``ZoneInfo`` ignores ``fold``, so 02:30 CEST and 02:30 CET on the night clocks go back would compare
*equal*; doing all arithmetic in UTC and converting to the schedule's zone only to evaluate the cron
expression (and to show a time) keeps the two apart. Naive datetimes are refused everywhere.

Daylight saving follows cronsim, which behaves like Debian's cron: a fixed local time that does not
exist (02:30 on the night clocks go forward) fires once, at the first valid instant after the gap
(03:00); a fixed local time that occurs twice (02:30 on the night clocks go back) fires once, at its
first occurrence. An expression with a wildcard hour fires in every real hour, the repeated one too,
because those are different instants. ``every:`` schedules count elapsed time and ignore the zone.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from cronsim import CronSim, CronSimError

__all__ = [
    "CATCHUP",
    "DEFAULT_MAX_CATCHUP",
    "DEFAULT_MAX_QUEUE",
    "ON_TIME",
    "OVERLAP",
    "Due",
    "Schedule",
    "ScheduleError",
    "Tick",
    "parse_every",
]

CATCHUP = ("none", "latest", "all")
OVERLAP = ("skip", "queue", "cancel", "allow")
DEFAULT_MAX_CATCHUP = 100
DEFAULT_MAX_QUEUE = 10
#: under ``catchup: none`` a tick that became due longer ago than this counts as missed, not late
ON_TIME = timedelta(seconds=60)

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_TINY = timedelta(microseconds=1)
_EVERY = re.compile(r"^\s*(?:\d+\s*[dhms]\s*)+$")
_EVERY_PART = re.compile(r"(\d+)\s*([dhms])")
_UNIT_SECONDS = {"d": 86400, "h": 3600, "m": 60, "s": 1}
#: the nicknames classic crons accept; cronsim itself knows only fields
_NICKNAMES = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}
_KEYS = {"cron", "every", "timezone", "start", "end", "catchup", "max_catchup", "overlap", "max_queue"}


class ScheduleError(ValueError):
    """A ``schedule:`` mapping that cannot be used; the message names the key."""


def logical_tick(schedules: Sequence[Mapping[str, Any]], logical_time: datetime) -> dict[str, str]:
    """``${schedule.*}`` of the tick due at ``logical_time`` of the one schedule among ``schedules``
    (the ``schedule:`` of each pipeline a run takes, as written), in the schedule's zone: what a run
    started by another scheduler at that time sees, as if ``orchestrator serve`` had started it.
    Raises :class:`ScheduleError` when the pipelines have no schedule or different ones (the
    caller says how to select the pipelines of one), or when the time has no offset."""
    distinct = [spec for index, spec in enumerate(schedules) if spec not in schedules[:index]]
    if len(distinct) != 1:
        raise ScheduleError(f"the pipelines it runs {'have no schedule' if not distinct else 'have different schedules'}")
    if logical_time.tzinfo is None or logical_time.utcoffset() is None:
        raise ScheduleError(f"the time has no offset; add one, e.g. {logical_time.isoformat()}+00:00")
    schedule = Schedule.from_config(distinct[0])
    return schedule.tick(logical_time).variables(schedule.zone)


def aware(value: datetime, what: str = "time") -> datetime:
    """``value`` in UTC; a naive datetime is a bug of the caller, never guessed at."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{what} {value.isoformat()} has no time zone; pass an aware datetime")
    return value.astimezone(UTC)


def parse_every(value: Any) -> timedelta:
    """``"15m"``, ``"1h30m"``, ``"2d"`` or a number of seconds → the period; at least a second."""
    if isinstance(value, int) and not isinstance(value, bool):
        seconds = value
    elif isinstance(value, str) and _EVERY.match(value):
        seconds = sum(int(n) * _UNIT_SECONDS[unit] for n, unit in _EVERY_PART.findall(value))
    else:
        raise ScheduleError(f"every: {value!r} is not a period like 30s, 15m, 1h30m or 1d")
    if seconds < 1:
        raise ScheduleError(f"every: {value!r} is shorter than one second")
    return timedelta(seconds=seconds)


@dataclass(frozen=True, slots=True)
class Tick:
    """One firing of a schedule. ``logical_time`` is the instant the tick was due (the ledger's key);
    the data interval ``[interval_start, interval_end)`` is the period the run is about and ends at
    the tick, so ``interval_end == logical_time``. All three are UTC."""

    logical_time: datetime
    interval_start: datetime
    interval_end: datetime

    def variables(self, zone: ZoneInfo | timezone = UTC) -> dict[str, str]:
        """``${schedule.*}`` values: ISO 8601 with the offset of ``zone`` (the schedule's own)."""
        return {
            "logical_time": self.logical_time.astimezone(zone).isoformat(),
            "interval_start": self.interval_start.astimezone(zone).isoformat(),
            "interval_end": self.interval_end.astimezone(zone).isoformat(),
        }


@dataclass(frozen=True, slots=True)
class Due:
    """The ticks to fire now, oldest first; ``skipped`` says the catchup policy dropped missed ones
    (the serve loop reports it, so a gap in the runs is never silent)."""

    ticks: tuple[Tick, ...]
    skipped: bool


@dataclass(frozen=True)
class Schedule:
    """A pipeline's ``schedule:``. Build it with :meth:`from_config`; ``cron`` or ``every`` is set,
    never both. ``start`` is the first instant a tick may fall on, ``until`` the first it may not
    (an ``end`` date means through the end of that day). ``max_queue`` bounds the ticks waiting
    under ``overlap: queue``; the serve loop records a tick beyond it as skipped and reports it."""

    cron: str | None
    every: timedelta | None
    zone: ZoneInfo
    start: datetime | None
    until: datetime | None
    catchup: str
    max_catchup: int
    overlap: str
    max_queue: int = DEFAULT_MAX_QUEUE

    @classmethod
    def from_config(cls, spec: Mapping[str, Any]) -> Schedule:
        """The schedule a config mapping describes (YAML may give dates and datetimes for
        ``start``/``end``; strings in ISO 8601 work too; naive ones are in ``timezone``)."""
        unknown = sorted(set(spec) - _KEYS)
        if unknown:
            raise ScheduleError(f"unknown key {unknown[0]!r}; a schedule has {', '.join(sorted(_KEYS))}")
        if ("cron" in spec) == ("every" in spec):
            raise ScheduleError("a schedule needs exactly one of cron: or every:")
        zone = _zone(spec.get("timezone", "UTC"))
        cron = every = None
        if "cron" in spec:
            cron = _cron(spec["cron"])
        else:
            every = parse_every(spec["every"])
        start = _instant(spec["start"], zone, "start") if spec.get("start") is not None else None
        until = None
        if spec.get("end") is not None:
            end = spec["end"]
            until = _instant(end, zone, "end", next_day=_is_date(end))
            until = until if _is_date(end) else until + _TINY
        if start is not None and until is not None and until <= start:
            raise ScheduleError(f"end: {spec['end']} is before start {spec['start']}; a schedule needs an end after its start")
        catchup = _choice(spec.get("catchup", "none"), CATCHUP, "catchup")
        overlap = _choice(spec.get("overlap", "skip"), OVERLAP, "overlap")
        max_catchup = _count(spec.get("max_catchup", DEFAULT_MAX_CATCHUP), "max_catchup")
        max_queue = _count(spec.get("max_queue", DEFAULT_MAX_QUEUE), "max_queue")
        return cls(cron, every, zone, start, until, catchup, max_catchup, overlap, max_queue)

    # -- fire times ---------------------------------------------------------------------------------

    def next_fire(self, after: datetime) -> datetime | None:
        """The first fire time strictly after ``after``, within start and end; None past the end."""
        after = aware(after, "after")
        if self.start is not None and after < self.start:
            after = self.start - _TINY
        found = self._next_raw(after)
        return found if self.until is None or found < self.until else None

    def fire_times(self, after: datetime, count: int) -> list[datetime]:
        """Up to ``count`` fire times after ``after`` (``orchestrator schedules`` shows five)."""
        times: list[datetime] = []
        moment: datetime | None = after
        while len(times) < count and moment is not None:
            moment = self.next_fire(moment)
            if moment is not None:
                times.append(moment)
        return times

    def previous_fire(self, before: datetime) -> datetime | None:
        """The last fire time strictly before ``before``, within start and end; None if none."""
        before = aware(before, "before")
        if self.until is not None and before > self.until:
            before = self.until
        found = self._previous_raw(before)
        return found if self.start is None or found >= self.start else None

    def tick(self, logical_time: datetime) -> Tick:
        """The tick due at ``logical_time``: its data interval runs from the cadence's previous
        fire time (ignoring ``start``: the interval belongs to the cadence) to the tick itself."""
        logical_time = aware(logical_time, "logical_time")
        return Tick(logical_time, self._previous_raw(logical_time), logical_time)

    def ticks_between(self, first: datetime, last: datetime) -> Iterator[Tick]:
        """Every tick whose logical time lies in ``[first, last]`` (a backfill's range), oldest first."""
        moment = self.next_fire(aware(first, "first") - _TINY)
        last = aware(last, "last")
        while moment is not None and moment <= last:
            yield self.tick(moment)
            moment = self.next_fire(moment)

    def backfill(self, first: date | datetime | str, last: date | datetime | str) -> Iterator[Tick]:
        """The ticks of ``orchestrator backfill --from FIRST --to LAST``: dates are whole days in
        the schedule's zone, both included; times (naive ones in that zone) are instants."""
        start = _instant(first, self.zone, "--from")
        end = _instant(last, self.zone, "--to", next_day=_is_date(last))
        if not _is_date(last):
            end += _TINY
        if end <= start:
            raise ScheduleError(f"--to {last} is before --from {first}")
        return self.ticks_between(start, end - _TINY)

    # -- catchup ------------------------------------------------------------------------------------

    def due(self, last_tick: datetime | None, now: datetime, *, first_seen: datetime, on_time: timedelta = ON_TIME) -> Due:
        """The ticks to fire at ``now``. Candidates are the fire times up to ``now`` after
        ``last_tick`` (the newest one the ledger recorded); with no ledger entry yet, from ``start``
        when the schedule has one, else after ``first_seen`` (when the scheduler first saw this
        schedule: there is nothing before it to catch up). Of these, ``catchup: none`` fires the
        newest if it is at most ``on_time`` late, ``latest`` the newest, ``all`` the newest
        ``max_catchup``, oldest first."""
        now = aware(now, "now")
        if last_tick is not None:
            floor = aware(last_tick, "last_tick")
        elif self.start is not None:
            floor = self.start - _TINY
        else:
            floor = aware(first_seen, "first_seen")
        wanted = self.max_catchup if self.catchup == "all" else 1
        newest_first: list[datetime] = []
        moment = self.previous_fire(now + _TINY)
        while moment is not None and moment > floor and len(newest_first) <= wanted:
            newest_first.append(moment)
            moment = self.previous_fire(moment)
        kept = newest_first[:wanted]
        skipped = len(newest_first) > wanted
        if self.catchup == "none" and kept and now - kept[0] > on_time:
            kept, skipped = [], True
        return Due(tuple(self.tick(moment) for moment in reversed(kept)), skipped)

    # -- the two cadences -----------------------------------------------------------------------------

    def _next_raw(self, after: datetime) -> datetime:
        if self.every is not None:
            anchor = self.start or _EPOCH
            steps = (after - anchor) // self.every + 1
            return anchor + steps * self.every
        assert self.cron is not None
        return next(iter(CronSim(self.cron, after.astimezone(self.zone)))).astimezone(UTC)

    def _previous_raw(self, before: datetime) -> datetime:
        if self.every is not None:
            anchor = self.start or _EPOCH
            steps = -((anchor - before) // self.every) - 1  # the last multiple strictly before
            return anchor + steps * self.every
        assert self.cron is not None
        return next(iter(CronSim(self.cron, before.astimezone(self.zone), reverse=True))).astimezone(UTC)


def _zone(name: Any) -> ZoneInfo:
    if not isinstance(name, str):
        raise ScheduleError(f"timezone: {name!r} is not a time zone name like Europe/Berlin")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ScheduleError(f"timezone: unknown time zone {name!r} (use an IANA name like Europe/Berlin or UTC)") from None


def _cron(expression: Any) -> str:
    if not isinstance(expression, str):
        raise ScheduleError(f"cron: {expression!r} is not a cron expression")
    fields = _NICKNAMES.get(expression.strip().lower(), expression.strip())
    try:
        CronSim(fields, _EPOCH)
    except CronSimError as exc:
        raise ScheduleError(f"cron: {expression!r}: {str(exc).lower()}") from None
    return fields


def _choice(value: Any, allowed: tuple[str, ...], key: str) -> str:
    if value not in allowed:
        raise ScheduleError(f"{key}: {value!r} is not one of {', '.join(allowed)}")
    return str(value)


def _count(value: Any, key: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ScheduleError(f"{key}: {value!r} is not a whole number of at least 1")
    return value


def _is_date(value: Any) -> bool:
    if isinstance(value, str):
        return len(value.strip()) == 10
    return isinstance(value, date) and not isinstance(value, datetime)


def _instant(value: Any, zone: ZoneInfo, key: str, *, next_day: bool = False) -> datetime:
    """A config's ``start``/``end`` as a UTC instant; a date means its local midnight (with
    ``next_day``, the midnight that ends it); naive values are wall time in ``zone``."""
    if isinstance(value, str):
        try:
            value = date.fromisoformat(value.strip()) if _is_date(value) else datetime.fromisoformat(value.strip())
        except ValueError:
            raise ScheduleError(f"{key}: {value!r} is not a date (2026-11-01) or a time (2026-11-01T02:00:00+01:00)") from None
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, date):
        day = value + timedelta(days=1) if next_day else value
        moment = datetime(day.year, day.month, day.day)
    else:
        raise ScheduleError(f"{key}: {value!r} is not a date or a time")
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone)
    return moment.astimezone(UTC)
