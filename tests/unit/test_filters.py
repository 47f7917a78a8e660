"""parse_moment at the edges of what a datetime holds (found by the API's fuzzing)."""

from __future__ import annotations

import pytest

from pixyproxy_cli.core.filters import EARLIEST, LATEST, parse_moment


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("0001-01-01T00:00:03+12:22", EARLIEST),  # before year 1 in UTC
        ("9999-12-31T23:59:00-05:00", LATEST),  # after 9999 in UTC
        ("0001-01-01", EARLIEST),
    ],
)
def test_a_time_that_utc_cannot_hold_is_the_nearer_end(text, expected):
    assert parse_moment(text, "until") == expected
