"""benchmarks/fleet.py runs at a tiny size and measures what the issue asks."""

from __future__ import annotations

import importlib.util
import json

import pytest

from tests.conftest import REPO

pytestmark = pytest.mark.slow


def test_the_fleet_benchmark_runs_at_a_tiny_size(tmp_path, capsys):
    spec = importlib.util.spec_from_file_location("fleet_benchmark", REPO / "benchmarks" / "fleet.py")
    benchmark = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(benchmark)
    assert benchmark.main(["--events", "20", "--big-events", "300", "--json", str(tmp_path / "numbers.json")]) == 0
    numbers = json.loads((tmp_path / "numbers.json").read_text(encoding="utf-8"))
    assert numbers["speedup_2_workers"] > 0 and len(numbers["peak_rss_mb_per_worker_2"]) == 2
    assert numbers["evtx_raw_loop_mb_s"] > 0 and numbers["logs_pyarrow_csv_mb_s"] > 0
    assert 0 < numbers["store_mb"] and numbers["store_to_input"] > 0
    assert numbers["big_spans_speedup"] > 0 and numbers["big_one_task_2_workers_s"] > 0
    assert set(numbers["queries"]) == {"failures_per_hour", "failure_spans", "certificates_presented"}
    assert all(q["same_rows"] and q["rows"] > 0 for q in numbers["queries"].values())
    assert "2 workers" in capsys.readouterr().out
