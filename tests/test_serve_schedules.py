"""Schedules: fire times, catchup and data intervals, driven by a clock the test moves — across both
daylight-saving transitions of Europe/Berlin in 2026 (clocks go forward at 02:00 on 29 March and
back at 03:00 on 25 October)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from itertools import pairwise
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from orchestrator.config.schedule import Schedule, ScheduleError, Tick, parse_every

BERLIN = ZoneInfo("Europe/Berlin")


def local(year: int, month: int, day: int, hour: int = 0, minute: int = 0, *, fold: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=BERLIN, fold=fold).astimezone(UTC)


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


@dataclass
class Clock:
    """A serve loop in miniature: the clock moves in steps, and at every step the ticks due are
    fired and the newest is recorded, as the ledger would."""

    schedule: Schedule
    now: datetime
    first_seen: datetime = field(init=False)
    last_tick: datetime | None = None
    fired: list[Tick] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.first_seen = self.now

    def advance(self, until: datetime, step: timedelta) -> None:
        while self.now < until:
            self.now += step
            due = self.schedule.due(self.last_tick, self.now, first_seen=self.first_seen)
            self.fired.extend(due.ticks)
            if due.ticks:
                self.last_tick = due.ticks[-1].logical_time

    def fired_local(self) -> list[str]:
        return [t.logical_time.astimezone(BERLIN).isoformat() for t in self.fired]


def schedule(**spec: Any) -> Schedule:
    return Schedule.from_config(spec)


# -- daylight saving --------------------------------------------------------------------------------


def test_a_local_time_that_does_not_exist_fires_once_at_the_next_valid_instant() -> None:
    clock = Clock(schedule(cron="30 2 * * *", timezone="Europe/Berlin"), local(2026, 3, 27, 12))
    clock.advance(local(2026, 3, 31, 12), timedelta(minutes=1))
    assert clock.fired_local() == [
        "2026-03-28T02:30:00+01:00",
        "2026-03-29T03:00:00+02:00",  # 02:30 did not exist that night
        "2026-03-30T02:30:00+02:00",
        "2026-03-31T02:30:00+02:00",
    ]


def test_a_repeated_local_time_fires_once() -> None:
    clock = Clock(schedule(cron="30 2 * * *", timezone="Europe/Berlin"), local(2026, 10, 24, 12))
    clock.advance(local(2026, 10, 26, 12), timedelta(minutes=1))
    assert clock.fired_local() == ["2026-10-25T02:30:00+02:00", "2026-10-26T02:30:00+01:00"]


def test_an_hourly_schedule_fires_in_every_real_hour_across_both_transitions() -> None:
    spring = Clock(schedule(cron="0 * * * *", timezone="Europe/Berlin"), local(2026, 3, 29, 0, 30))
    spring.advance(local(2026, 3, 29, 4, 30), timedelta(seconds=47))
    assert spring.fired_local() == [
        "2026-03-29T01:00:00+01:00", "2026-03-29T03:00:00+02:00", "2026-03-29T04:00:00+02:00",
    ]
    autumn = Clock(schedule(cron="0 * * * *", timezone="Europe/Berlin"), local(2026, 10, 25, 0, 30))
    autumn.advance(local(2026, 10, 25, 4, 30), timedelta(seconds=47))
    assert autumn.fired_local() == [
        "2026-10-25T01:00:00+02:00", "2026-10-25T02:00:00+02:00", "2026-10-25T02:00:00+01:00",
        "2026-10-25T03:00:00+01:00", "2026-10-25T04:00:00+01:00",
    ]
    # five distinct instants an hour apart: the repeated hour is a real hour
    instants = [t.logical_time for t in autumn.fired]
    assert all(b - a == timedelta(hours=1) for a, b in pairwise(instants))


def test_a_daily_data_interval_across_the_transitions_is_23_and_25_hours_long() -> None:
    daily = schedule(cron="0 0 * * *", timezone="Europe/Berlin")
    spring = daily.tick(local(2026, 3, 30, 0))
    assert spring.interval_start == local(2026, 3, 29, 0)
    assert spring.interval_end - spring.interval_start == timedelta(hours=23)
    autumn = daily.tick(local(2026, 10, 26, 0))
    assert autumn.interval_end - autumn.interval_start == timedelta(hours=25)
    assert autumn.variables(BERLIN) == {
        "logical_time": "2026-10-26T00:00:00+01:00",
        "interval_start": "2026-10-25T00:00:00+02:00",
        "interval_end": "2026-10-26T00:00:00+01:00",
    }


def test_the_tick_shifted_by_the_gap_has_an_interval_from_the_previous_night() -> None:
    tick = schedule(cron="30 2 * * *", timezone="Europe/Berlin").tick(local(2026, 3, 29, 3))
    assert tick.interval_start == local(2026, 3, 28, 2, 30)
    assert tick.interval_end - tick.interval_start == timedelta(hours=23, minutes=30)


def test_every_counts_elapsed_time_through_the_transitions() -> None:
    clock = Clock(schedule(every="1h", timezone="Europe/Berlin"), local(2026, 10, 25, 0, 30))
    clock.advance(local(2026, 10, 25, 4, 30), timedelta(minutes=10))
    assert len(clock.fired) == 5
    assert [t.logical_time.minute for t in clock.fired] == [0] * 5  # anchored at the epoch, in UTC


def test_a_fire_every_second_is_seen_once_by_a_clock_in_uneven_steps() -> None:
    clock = Clock(schedule(every="1s", catchup="all"), utc(2026, 10, 25, 0, 59, 50))
    clock.advance(utc(2026, 10, 25, 1, 0, 10), timedelta(milliseconds=730))
    times = [t.logical_time for t in clock.fired]
    assert times == [utc(2026, 10, 25, 0, 59, 51) + timedelta(seconds=n) for n in range(len(times))]
    assert times[-1] >= utc(2026, 10, 25, 1, 0, 9)


# -- catchup --------------------------------------------------------------------------------------


def test_catchup_policies_after_a_gap() -> None:
    last = utc(2026, 1, 1, 0, 0)
    now = utc(2026, 1, 1, 3, 7)  # ticks 00:15 ... 03:00 were missed: 12 of them
    for policy, expected in [("all", 12), ("latest", 1)]:
        due = schedule(every="15m", catchup=policy).due(last, now, first_seen=last)
        assert len(due.ticks) == expected
        assert due.ticks[-1].logical_time == utc(2026, 1, 1, 3, 0)
        assert due.skipped is (policy == "latest")
    assert [t.logical_time for t in schedule(every="15m", catchup="all").due(last, now, first_seen=last).ticks][:2] == [
        utc(2026, 1, 1, 0, 15), utc(2026, 1, 1, 0, 30),
    ]
    none = schedule(every="15m", catchup="none").due(last, now, first_seen=last)
    assert none.ticks == () and none.skipped  # 03:00 is 7 minutes late: missed
    on_time = schedule(every="15m", catchup="none").due(last, utc(2026, 1, 1, 3, 0, 20), first_seen=last)
    assert [t.logical_time for t in on_time.ticks] == [utc(2026, 1, 1, 3, 0)]


def test_catchup_all_is_capped_by_max_catchup_keeping_the_newest() -> None:
    due = schedule(every="1m", catchup="all", max_catchup=5).due(utc(2026, 1, 1), utc(2026, 1, 1, 1), first_seen=utc(2026, 1, 1))
    assert [t.logical_time for t in due.ticks] == [utc(2026, 1, 1, 0, m) for m in (56, 57, 58, 59)] + [utc(2026, 1, 1, 1)]
    assert due.skipped
    default = schedule(every="1m", catchup="all").due(utc(2026, 1, 1), utc(2026, 1, 2), first_seen=utc(2026, 1, 1))
    assert len(default.ticks) == 100


def test_nothing_is_due_twice_or_before_it_is_due() -> None:
    s = schedule(every="15m", catchup="all")
    assert s.due(utc(2026, 1, 1, 3), utc(2026, 1, 1, 3, 14, 59), first_seen=utc(2026, 1, 1)).ticks == ()
    due = s.due(utc(2026, 1, 1, 3), utc(2026, 1, 1, 3, 15), first_seen=utc(2026, 1, 1))
    assert [t.logical_time for t in due.ticks] == [utc(2026, 1, 1, 3, 15)]


def test_a_new_schedule_catches_up_from_start_or_else_from_when_it_was_first_seen() -> None:
    now = utc(2026, 11, 3, 12)
    with_start = schedule(cron="0 2 * * *", start="2026-11-01", catchup="all")
    assert [t.logical_time for t in with_start.due(None, now, first_seen=now).ticks] == [
        utc(2026, 11, 1, 2), utc(2026, 11, 2, 2), utc(2026, 11, 3, 2),
    ]
    without = schedule(cron="0 2 * * *", catchup="all")
    assert without.due(None, now, first_seen=utc(2026, 11, 2, 12)).ticks[0].logical_time == utc(2026, 11, 3, 2)


def test_start_and_end_bound_the_ticks_in_the_schedule_timezone() -> None:
    s = schedule(cron="0 2 * * *", timezone="Europe/Berlin", start=date(2026, 11, 1), end="2026-11-03")
    assert s.fire_times(utc(2026, 1, 1), 10) == [local(2026, 11, d, 2) for d in (1, 2, 3)]
    assert s.next_fire(local(2026, 11, 3, 2)) is None
    assert s.previous_fire(utc(2027, 1, 1)) == local(2026, 11, 3, 2)
    assert s.previous_fire(local(2026, 11, 1, 2)) is None
    exact = schedule(every="1h", start=datetime(2026, 1, 1, 0, 30, tzinfo=UTC), end="2026-01-01T02:30:00+00:00")
    assert exact.fire_times(utc(2025, 1, 1), 9) == [utc(2026, 1, 1, 0, 30), utc(2026, 1, 1, 1, 30), utc(2026, 1, 1, 2, 30)]


def test_ticks_between_covers_both_ends_for_a_backfill() -> None:
    s = schedule(cron="0 2 * * *", timezone="Europe/Berlin")
    ticks = list(s.ticks_between(local(2026, 3, 28), local(2026, 3, 30, 23, 59)))
    assert [t.logical_time for t in ticks] == [local(2026, 3, 28, 2), local(2026, 3, 29, 3), local(2026, 3, 30, 2)]
    assert [t.logical_time for t in s.ticks_between(local(2026, 3, 28, 2), local(2026, 3, 28, 2))] == [local(2026, 3, 28, 2)]


# -- expressions and the model ----------------------------------------------------------------------


def test_cron_nicknames_and_a_seconds_field() -> None:
    assert schedule(cron="@daily").next_fire(utc(2026, 5, 5, 13)) == utc(2026, 5, 6)
    assert schedule(cron="*/10 * * * * *").next_fire(utc(2026, 5, 5, 13, 0, 1)) == utc(2026, 5, 5, 13, 0, 10)


def test_every_periods() -> None:
    assert parse_every("15m") == timedelta(minutes=15)
    assert parse_every("1h30m") == timedelta(minutes=90)
    assert parse_every("2d") == timedelta(days=2)
    assert parse_every(45) == timedelta(seconds=45)
    for bad in ("0s", "15", "1.5h", "15 minutes", True, 0, None):
        with pytest.raises(ScheduleError):
            parse_every(bad)


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({}, "exactly one of cron: or every:"),
        ({"cron": "0 2 * * *", "every": "1h"}, "exactly one of cron: or every:"),
        ({"cron": "61 * * * *"}, "bad minute"),
        ({"cron": "0 2 * *"}, "wrong number of fields"),
        ({"every": "1h", "timezone": "Mars/Olympus"}, "unknown time zone"),
        ({"every": "1h", "catchup": "some"}, "catchup: 'some' is not one of none, latest, all"),
        ({"every": "1h", "overlap": "kill"}, "overlap"),
        ({"every": "1h", "max_catchup": 0}, "max_catchup"),
        ({"every": "1h", "max_queue": "3"}, "max_queue: '3' is not a whole number"),
        ({"every": "1h", "start": "2026-11-05", "end": "2026-11-01"}, "end: 2026-11-01 is before start 2026-11-05"),
        ({"every": "1h", "start": "yesterday"}, "start: 'yesterday' is not a date"),
        ({"every": "1h", "jitter": "5s"}, "unknown key 'jitter'"),
    ],
)
def test_bad_schedules_say_which_key(spec: dict[str, Any], message: str) -> None:
    with pytest.raises(ScheduleError, match=message):
        Schedule.from_config(spec)


def test_defaults() -> None:
    s = schedule(cron="0 2 * * *")
    assert (s.zone.key, s.catchup, s.max_catchup, s.overlap, s.max_queue, s.start, s.until) == ("UTC", "none", 100, "skip", 10, None, None)


def test_naive_datetimes_are_refused() -> None:
    s = schedule(every="1h")
    naive = datetime(2026, 1, 1)
    for call in (lambda: s.next_fire(naive), lambda: s.tick(naive), lambda: s.due(None, naive, first_seen=utc(2026, 1, 1))):
        with pytest.raises(ValueError, match="no time zone"):
            call()


def test_every_instant_returned_is_utc() -> None:
    s = schedule(cron="30 2 * * *", timezone="Europe/Berlin")
    tick = s.tick(s.fire_times(utc(2026, 3, 28), 2)[1])
    for moment in (tick.logical_time, tick.interval_start, tick.interval_end):
        assert moment.tzinfo is UTC


def test_a_backfill_covers_whole_days_in_the_schedule_timezone_both_included() -> None:
    s = schedule(cron="0 0,2 * * *", timezone="Europe/Berlin")
    days = [t.logical_time for t in s.backfill(date(2026, 3, 28), "2026-03-29")]
    assert days == [local(2026, 3, 28, 0), local(2026, 3, 28, 2), local(2026, 3, 29, 0), local(2026, 3, 29, 3)]
    times = [t.logical_time for t in s.backfill("2026-03-28T01:00:00", datetime(2026, 3, 29, 0, 0, tzinfo=BERLIN))]
    assert times == [local(2026, 3, 28, 2), local(2026, 3, 29, 0)]
    with pytest.raises(ScheduleError, match="--to 2026-03-27 is before --from 2026-03-28"):
        list(s.backfill("2026-03-28", "2026-03-27"))
