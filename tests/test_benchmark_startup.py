"""``benchmarks/startup.py`` keeps working: once over, it times the fresh processes and prints their ratio."""

from __future__ import annotations

import importlib.util
import re

from tests.conftest import REPO, SAMPLES


def test_the_startup_benchmark_runs_once(capsys):
    spec = importlib.util.spec_from_file_location("benchmark_startup", REPO / "benchmarks" / "startup.py")
    benchmark = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(benchmark)
    assert benchmark.main(["--case", str(SAMPLES / "fabrikam-healthy"), "--repeat", "1"]) == 0
    out = capsys.readouterr().out
    rows = {line[:36].strip(): [float(v) for v in line[36:].split()] for line in out.splitlines()
            if re.match(r"  \S.* +\d+\.\d+ +\d+\.\d+$", line)}
    assert set(rows) == {"baseline (numpy, pandas, pyarrow)", "investigate", "--help", "events --help"}
    assert all(wall > 0 and cpu > 0 for wall, cpu in rows.values())
    assert "ratio baseline / investigate: wall " in out
