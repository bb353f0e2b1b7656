"""How a cost grows: the CPU time of a call, and the ratio of two sizes' times, for the tests that
catch a quadratic cost (CPU time, not wall time: another process on the machine does not count)."""

from __future__ import annotations

import time
from collections.abc import Callable


def least_cpu_seconds(call: Callable[[], object], runs: int = 3) -> float:
    """The least CPU time of ``runs`` calls of ``call``.

    >>> least_cpu_seconds(lambda: None) >= 0
    True
    """
    best = float("inf")
    for _ in range(runs):
        start = time.process_time()
        call()
        best = min(best, time.process_time() - start)
    return best


def cpu_growth(call: Callable[[object], object], small: object, big: object) -> float:
    """How many times more CPU ``call(big)`` takes than ``call(small)`` (``big`` ten times ``small``):
    about 10 for a linear cost, 100 for a quadratic one. ``call(small)`` runs once first, to warm up
    (regexes compiled, code paths cached)."""
    call(small)
    return least_cpu_seconds(lambda: call(big)) / max(least_cpu_seconds(lambda: call(small)), 1e-6)
