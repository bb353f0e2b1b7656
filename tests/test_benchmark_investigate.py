"""``benchmarks/investigate.py`` keeps working: run at a tiny size, it builds the case with its background
traffic and the twin without logs, checks the verdict against truth.json and prints every measurement."""

from __future__ import annotations

import importlib.util
import re
import sys

from tests.conftest import REPO


def test_the_investigate_benchmark_runs_at_a_tiny_size(capsys, monkeypatch):
    spec = importlib.util.spec_from_file_location("benchmark_investigate", REPO / "benchmarks" / "investigate.py")
    benchmark = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, spec.name, benchmark)     # its dataclass looks its module up there
    spec.loader.exec_module(benchmark)
    assert benchmark.main(["--size-mb", "0.3", "--scales", "1", "--repeat", "1", "--events", "20"]) == 0
    out = capsys.readouterr().out
    rows = [line.split() for line in out.splitlines() if re.match(r"\s+\d+x ", line)]
    assert len(rows) == 1 and rows[0][0] == "1x"
    numbers = [float(value) if value != "-" else None for value in rows[0][1:]]
    # sizes, times and the read's ratio; the logs' marginal time is a difference of two runs: at this size
    # within the machine's noise, of either sign on a busy machine, and its ratio "-" when not above zero
    marginal, ratio = numbers[6], numbers[8]
    assert all(value > 0 for value in numbers[:6] + [numbers[7]]) and numbers[9] >= 0     # ...; SHA-256
    assert marginal < numbers[3] and (ratio is not None and ratio > 0) == (marginal > 0)
    assert numbers[10] > 0 and numbers[11] > 0 and numbers[13] > 0          # peaks (MB/MB may be below 0)
    assert numbers[1] < numbers[0]             # the logs are part of the input
    assert "verdicts: x1 confirmed" in out


def test_growth_is_reported_against_the_first_scale():
    spec = importlib.util.spec_from_file_location("benchmark_investigate", REPO / "benchmarks" / "investigate.py")
    benchmark = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = benchmark
    try:
        spec.loader.exec_module(benchmark)
        small = benchmark.Measured(1, 10, 8, 0.1, 0.08, 0.01, 2.0, 1.0, 200, 150, 120, "confirmed")
        big = benchmark.Measured(10, 100, 80, 1.0, 0.8, 0.1, 11.0, 1.0, 290, 150, 200, "confirmed")
    finally:
        del sys.modules[spec.name]
    text = benchmark.report([small, big])
    assert ("x1 -> x10: input x10.0, investigate time x5.5, marginal time x10.0, peak memory x1.4, "
            "1.00 MB of peak per MB of input added") in text
