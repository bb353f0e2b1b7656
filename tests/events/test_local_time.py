"""The passes through an hour the clocks go back over, told by the order of a file's records."""

from __future__ import annotations

import itertools

import numpy as np
from hypothesis import given, seed, settings
from hypothesis import strategies as st

from exlab.events.local_time import second_passes

CHANGE = 10_000          # the clocks go back an hour at this UTC second: [CHANGE - 3600, CHANGE + 3600) reads twice


def passes(utc: int) -> tuple[int, int]:
    """The UTC seconds of the first and the second pass of the local time ``utc`` shows."""
    if CHANGE - 3600 <= utc < CHANGE:
        return utc, utc + 3600
    if CHANGE <= utc < CHANGE + 3600:
        return utc - 3600, utc
    return utc, utc


def monotonic_readings(first: tuple[int, ...], second: tuple[int, ...]) -> list[tuple[int, ...]]:
    """Every choice of passes (0, 1) that reads the times in order, newest or oldest first."""
    found = []
    for choice in itertools.product(*[(0, 1) if a != b else (0,) for a, b in zip(first, second)]):
        times = [(a, b)[c] for a, b, c in zip(first, second, choice)]
        if times == sorted(times) or times == sorted(times, reverse=True):
            found.append(choice)
    return found


@seed(2888788)
@settings(max_examples=300, deadline=None, database=None)
@given(st.lists(st.integers(CHANGE - 5400, CHANGE + 5400), min_size=1, max_size=7), st.booleans(), st.randoms())
def test_a_pass_is_settled_exactly_when_every_ordered_reading_agrees_and_then_it_is_the_true_one(
        times, newest_first, shuffle):
    ordered = sorted(times, reverse=newest_first)
    for utc, check_truth in ((ordered, True), (shuffle.sample(times, len(times)), False)):
        first, second = zip(*map(passes, utc))
        later, unsettled = second_passes(np.array(first), np.array(second))
        readings = monotonic_readings(first, second)
        for i in range(len(utc)):
            agreed = {choice[i] for choice in readings}
            if first[i] == second[i]:
                assert not later[i] and not unsettled[i]
            elif len(agreed) == 1:
                assert not unsettled[i] and later[i] == bool(agreed.pop())
                assert not check_truth or (second[i] if later[i] else first[i]) == utc[i]
            else:
                assert unsettled[i] and not later[i]             # no order or several: the first pass, warned
