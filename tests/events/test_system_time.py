"""SystemTime text in and out, at 100-ns precision, as Windows, pyevtx-rs and python-evtx write it."""

from __future__ import annotations

import pytest

from exlab.events.system_time import format_system_time, parse_system_time


def test_precision_and_offsets():
    assert parse_system_time("2025-03-20T13:15:04.1234567Z") % 1_000_000_000 == 123_456_700
    assert parse_system_time("2025-03-20T14:15:04+01:00") == parse_system_time("2025-03-20T13:15:04Z")


def test_renderings_of_the_engines_agree():
    windows = parse_system_time("2021-11-19T16:52:33.4843750Z")
    assert parse_system_time("2021-11-19T16:52:33.484375Z") == windows      # pyevtx-rs: 6 digits
    assert parse_system_time("2021-11-19 16:52:33.484375") == windows       # python-evtx: a space, no zone
    assert format_system_time(windows) == "2021-11-19T16:52:33.4843750Z"


@pytest.mark.parametrize("text", ["20.03.2025 14:15:04", "2025-02-30T00:00:00Z", "", "2025-03-20T13:15"])
def test_what_is_not_a_system_time(text):
    with pytest.raises(ValueError):
        parse_system_time(text)
