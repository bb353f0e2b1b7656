"""How long a fresh ``exlab`` process takes on a small case (issue #14: under 0.8 s), against a raw baseline.

Each run is a new interpreter, as the engineer's shell starts it (``python -m exlab.cli``), side by
side with the baseline: a new interpreter that only imports pandas, pyarrow and numpy (what any
command needs, and what exlab cannot make faster). Best of ``--repeat`` wall seconds and CPU
seconds (user + system of the child), then the ratio baseline / exlab (1.0 would be exlab costing
no more than those imports) and exlab's own share (exlab minus the baseline). ``--help`` and
``events --help`` are timed too (they must stay near the bare interpreter: no heavy import).

Bytecode is written and used as an installed package's would be (PYTHONDONTWRITEBYTECODE is
dropped for the children); a first run of each warms it.

    .venv/bin/python benchmarks/startup.py                                   # contoso-kb2888788, best of 5
    .venv/bin/python benchmarks/startup.py --case data/samples/fabrikam-healthy --repeat 9
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BASELINE = ["-c", "import numpy, pandas, pyarrow"]


def timed(argv: list[str]) -> tuple[float, float]:
    """Wall and CPU seconds (user + system) of one child interpreter running ``argv``."""
    env = {key: value for key, value in os.environ.items() if key != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run([sys.executable, *argv], cwd=REPO, env=env, check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def best(runs: dict[str, list[str]], repeat: int) -> dict[str, tuple[float, float]]:
    """Best wall and best CPU of each run, the runs interleaved (a busy machine slows them alike)."""
    for argv in runs.values():
        timed(argv)   # warm: bytecode written, files in the page cache
    seen: dict[str, list[tuple[float, float]]] = {name: [] for name in runs}
    for _ in range(repeat):
        for name, argv in runs.items():
            seen[name].append(timed(argv))
    return {name: (min(w for w, _ in values), min(c for _, c in values)) for name, values in seen.items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--case", default=str(REPO / "data" / "samples" / "contoso-kb2888788"))
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args(argv)
    cli = ["-m", "exlab.cli"]
    runs = {"baseline (numpy, pandas, pyarrow)": BASELINE, "investigate": [*cli, "investigate", args.case],
            "--help": [*cli, "--help"], "events --help": [*cli, "events", "--help"]}
    measured = best(runs, args.repeat)
    print(f"case {args.case}, best of {args.repeat} (seconds)")
    print(f"  {'':34} {'wall':>6} {'cpu':>6}")
    for name, (wall, cpu) in measured.items():
        print(f"  {name:34} {wall:6.3f} {cpu:6.3f}")
    base, run = measured["baseline (numpy, pandas, pyarrow)"], measured["investigate"]
    print(f"ratio baseline / investigate: wall {base[0] / run[0]:.2f}, cpu {base[1] / run[1]:.2f}; "
          f"exlab's own share: wall {run[0] - base[0]:.3f} s, cpu {run[1] - base[1]:.3f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
