"""Schedule windows in Europe/Zagreb across DST, and exact time edges."""

import math
from datetime import UTC, datetime

import pytest

from invitations.gates_parser import parse_gates
from invitations.schedule import Schedule
from invitations.timing import first_instant


def utc(*args):
    return datetime(*args, tzinfo=UTC).timestamp()


def schedule(*windows):
    errors = []
    gates = parse_gates(
        {
            "schedule": {
                "timezone": "Europe/Zagreb",
                "windows": [{"days": d, "from": a, "to": b} for d, a, b in windows],
            }
        },
        "gates",
        errors,
    )
    assert errors == []
    return gates.schedule


WEEKDAYS = ["mon", "tue", "wed", "thu", "fri"]


def test_office_hours_in_summer_and_winter():
    s = schedule((WEEKDAYS, "08:00", "18:00"))
    assert s.state(utc(2026, 4, 7, 5, 59)) == (False, utc(2026, 4, 7, 6, 0))  # CEST = UTC+2
    assert s.state(utc(2026, 4, 7, 6, 0)) == (True, utc(2026, 4, 7, 16, 0))
    assert s.state(utc(2026, 1, 13, 7, 30)) == (True, utc(2026, 1, 13, 17, 0))  # CET = UTC+1
    # Friday evening to Monday morning.
    assert s.state(utc(2026, 4, 10, 16, 0)) == (False, utc(2026, 4, 13, 6, 0))


def test_spring_forward_weekend():
    # Sunday 2026-03-29: 02:00 CET jumps to 03:00 CEST at 01:00 UTC.
    s = schedule((WEEKDAYS, "08:00", "18:00"))
    assert s.state(utc(2026, 3, 27, 17, 0)) == (False, utc(2026, 3, 30, 6, 0))
    assert s.state(utc(2026, 3, 27, 16, 59)) == (True, utc(2026, 3, 27, 17, 0))


def test_window_inside_the_skipped_hour_never_opens_that_night():
    s = schedule((["sun"], "02:00", "02:30"))
    # Closed through the spring-forward night; next opening is the following Sunday.
    assert s.state(utc(2026, 3, 28, 12, 0)) == (False, utc(2026, 4, 5, 0, 0))


def test_window_starting_in_the_skipped_hour_opens_at_the_jump():
    s = schedule((["sun"], "02:30", "05:00"))
    assert s.state(utc(2026, 3, 28, 12, 0)) == (False, utc(2026, 3, 29, 1, 0))
    assert s.state(utc(2026, 3, 29, 1, 0)) == (True, utc(2026, 3, 29, 3, 0))


def test_window_across_spring_forward_lasts_two_real_hours():
    s = schedule((["sun"], "01:00", "04:00"))
    assert s.state(utc(2026, 3, 29, 0, 0)) == (True, utc(2026, 3, 29, 2, 0))


def test_fall_back_repeated_hour_is_open_both_times():
    # Sunday 2026-10-25: 03:00 CEST falls back to 02:00 CET at 01:00 UTC.
    s = schedule((["sun"], "02:00", "03:00"))
    assert s.state(utc(2026, 10, 24, 12, 0)) == (False, utc(2026, 10, 25, 0, 0))
    assert s.state(utc(2026, 10, 25, 0, 30)) == (True, utc(2026, 10, 25, 2, 0))
    assert s.is_open(utc(2026, 10, 25, 1, 30)) is True  # the second 02:30


def test_fall_back_office_hours():
    s = schedule((WEEKDAYS, "08:00", "18:00"))
    assert s.state(utc(2026, 10, 23, 15, 0)) == (True, utc(2026, 10, 23, 16, 0))
    assert s.state(utc(2026, 10, 23, 16, 0)) == (False, utc(2026, 10, 26, 7, 0))


def test_overnight_and_midnight_windows():
    s = schedule((["fri"], "22:00", "06:00"))
    assert s.state(utc(2026, 4, 10, 19, 0)) == (False, utc(2026, 4, 10, 20, 0))
    assert s.state(utc(2026, 4, 11, 3, 0)) == (True, utc(2026, 4, 11, 4, 0))
    s = schedule((["sat", "sun"], "00:00", "24:00"))
    assert s.state(utc(2026, 4, 11, 12, 0)) == (True, utc(2026, 4, 12, 22, 0))


def test_always_open_has_no_change():
    days = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
    assert schedule((days, "00:00", "24:00")).state(utc(2026, 3, 29, 1, 0)) == (True, None)


@pytest.mark.parametrize(
    "start",
    [
        utc(2026, 3, 28, 20, 0),
        utc(2026, 3, 29, 0, 59),
        utc(2026, 10, 24, 23, 0),
        utc(2026, 10, 25, 1, 15),
        utc(2026, 6, 1, 0, 0),
    ],
)
def test_next_change_matches_a_minute_by_minute_scan(start):
    s = schedule(
        (WEEKDAYS, "08:00", "18:00"), (["sun"], "02:00", "03:30"), (["sat"], "23:00", "02:30")
    )
    fresh = Schedule(s.timezone, s.windows)
    is_open, change = fresh.state(start)
    t = start
    while True:  # brute force, one minute at a time (every edge is on a whole minute)
        t = math.floor(t / 60) * 60 + 60
        if fresh.is_open(t) != is_open:
            break
    assert change == t


def test_first_instant_is_exact():
    anchor = 1775556000.123
    for threshold in (0.0, 0.1, 30.0, 59.999):
        t = first_instant(anchor, threshold, strict=False)
        assert t - anchor >= threshold
        assert math.nextafter(t, -math.inf) - anchor < threshold
        t = first_instant(anchor, threshold, strict=True)
        assert t - anchor > threshold
        assert math.nextafter(t, -math.inf) - anchor <= threshold
