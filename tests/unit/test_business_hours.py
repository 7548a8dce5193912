"""Business hours in the site's time zone, across DST changes (time passed in)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from server.chat.business_hours import is_open

HOURS = {
    "windows": [
        {"days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"], "from": "08:00", "to": "18:00"}
    ],
    "holidays": ["2026-12-25"],
}
ZAGREB = "Europe/Zagreb"


def at(text: str) -> float:
    return datetime.fromisoformat(text).timestamp()


@pytest.mark.parametrize(
    ("instant", "expected"),
    [
        # Spring forward (29 March 2026, 02:00 CET -> 03:00 CEST): 08:00 local is 06:00 UTC.
        ("2026-03-29T05:59:00+00:00", False),
        ("2026-03-29T06:00:00+00:00", True),
        ("2026-03-29T15:59:00+00:00", True),
        ("2026-03-29T16:00:00+00:00", False),
        # The day before, still winter time: 08:00 local is 07:00 UTC.
        ("2026-03-28T06:30:00+00:00", False),
        ("2026-03-28T07:00:00+00:00", True),
        # Fall back (25 October 2026): 08:00 local is 07:00 UTC again.
        ("2026-10-25T06:59:00+00:00", False),
        ("2026-10-25T07:00:00+00:00", True),
        ("2026-10-25T16:59:00+00:00", True),
        ("2026-10-25T17:00:00+00:00", False),
        # A holiday is closed all day.
        ("2026-12-25T10:00:00+00:00", False),
    ],
)
def test_window_in_local_time_across_dst(instant: str, expected: bool) -> None:
    assert is_open(HOURS, ZAGREB, at(instant)) is expected


def test_no_hours_means_always_open() -> None:
    assert is_open(None, ZAGREB, 0.0) is True
    assert is_open({"windows": []}, ZAGREB, 0.0) is True


def test_overnight_window_and_weekdays() -> None:
    hours = {"windows": [{"days": ["fri"], "from": "22:00", "to": "02:00"}]}
    tz = ZoneInfo("UTC")
    friday_late = datetime(2026, 11, 27, 23, 0, tzinfo=tz).timestamp()
    saturday_early = datetime(2026, 11, 28, 1, 30, tzinfo=tz).timestamp()
    saturday_late = datetime(2026, 11, 28, 23, 0, tzinfo=tz).timestamp()
    assert is_open(hours, "UTC", friday_late) is True
    assert is_open(hours, "UTC", saturday_early) is True
    assert is_open(hours, "UTC", saturday_late) is False
