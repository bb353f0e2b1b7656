"""How fast and how lean ``exlab investigate`` is on a big case, against a raw read of the same files.

Builds a lab case (``contoso-kb2888788`` by default) whose incident sits at the end of weeks of
ordinary mail flow in its transport logs (``exlab.lab.traffic``), at each scale asked
(``--scales 1,10``: 1x is ``--size-mb`` of logs), and a twin of it without any log. For each it
prints, measured side by side in this process (best of ``--repeat``):

- investigate's time as a ratio to a raw read of the same files: ``pyarrow.csv`` over the logs
  plus pyevtx-rs's bare ``records_json()`` loop over the .evtx files (ratio = raw / investigate:
  1.0 would be as fast as the raw read);
- the logs' marginal cost: investigate on the case minus investigate on the twin without logs,
  against ``pyarrow.csv`` over the logs alone (the issue's target: >= 0.5, floor 0.1), and the
  time SHA-256 alone takes over the logs (every input is hashed into the parse report, so a read
  by exlab can never cost less than ``pyarrow.csv`` plus that);
- the peak memory of investigate in a child process, against the input size: the peak less the
  twin's peak (the fixed start-up: imports, certificates, events) per MB of input (target < 1.5);
- the peak memory of reading the logs alone (``read_protocol_log`` + ``read_tracking_log``);

then how time and memory grow from the first scale to the others (linear: 10x the input, at most
about 10x the time). The verdict of every run is checked against the case's truth.json.

    .venv/bin/python benchmarks/investigate.py                            # 20 MB and 200 MB of logs
    .venv/bin/python benchmarks/investigate.py --size-mb 20 --scales 1,10,100
    .venv/bin/python benchmarks/investigate.py --size-mb 0.3 --scales 1 --repeat 1 --events 20   # the test

Everything is written under a temporary folder; nothing in the repository.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

os.environ.setdefault("ARROW_DEFAULT_MEMORY_POOL", "jemalloc")    # the pool exlab's commands read with (exlab.cli)

import evtx  # noqa: E402
import pyarrow.csv as pacsv  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import exlab  # noqa: E402
from exlab.cli import main as exlab_main  # noqa: E402
from exlab.lab.generate import ROOTS_FILE, generate_case  # noqa: E402
from exlab.lab.traffic import add_traffic  # noqa: E402

DAYS = 30                     # a month of logs before the incident
MB = 1_000_000


@dataclass
class Measured:
    """One scale's measurements (seconds, MB)."""

    scale: int
    input_mb: float
    logs_mb: float
    raw: float
    raw_logs: float
    hash_logs: float
    investigate: float
    investigate_without_logs: float
    peak_mb: float
    peak_without_logs_mb: float
    logs_read_peak_mb: float
    verdict: str

    @property
    def marginal(self) -> float:
        return self.investigate - self.investigate_without_logs


def build_case(folder: Path, case: str, logs_mb: float, seed: int, events: int | None) -> Path:
    """Write the case with about ``logs_mb`` MB of background logs (and ``events`` background records in
    each Application.evtx: None, the case's own) into ``folder``; return its folder."""
    gen = generate_case(case, folder, seed=seed, events=events)
    probe = add_traffic(gen, days=1, sessions_per_day=10)      # bytes one session writes, on this case
    per_session = sum(p.stat().st_size for p in probe) / 10 / max(1, len({p.parent.parent for p in probe}))
    for path in probe:
        path.unlink()
    servers = max(1, len({p.parent.parent for p in probe}))
    per_day = max(1, round(logs_mb * MB / DAYS / servers / per_session))
    add_traffic(gen, days=DAYS, sessions_per_day=per_day)
    return gen.folder


def without_logs(case: Path, target: Path) -> Path:
    """A copy of the case without its transport logs (the .LOG files)."""
    shutil.copytree(case, target, ignore=shutil.ignore_patterns("*.LOG"))
    return target


def files_of(case: Path, suffix: str) -> list[Path]:
    return sorted(p for p in case.rglob("*") if p.is_file() and p.suffix.upper() == suffix.upper())


def raw_logs(paths: list[Path]) -> int:
    """Read every log with pyarrow.csv, by its own #Fields line; returns the rows."""
    rows = 0
    for path in paths:
        with open(path, encoding="utf-8-sig") as stream:
            head = [stream.readline() for _ in range(5)]
        fields = head[4].removeprefix("#Fields: ").strip().split(",")
        table = pacsv.read_csv(path, read_options=pacsv.ReadOptions(skip_rows=5, column_names=fields),
                               parse_options=pacsv.ParseOptions(invalid_row_handler=lambda row: "skip"))
        rows += table.num_rows
    return rows


def hash_logs(paths: list[Path]) -> None:
    """SHA-256 of every log, 1 MiB at a time: the part of any read by exlab that the evidence rule fixes."""
    for path in paths:
        digest = hashlib.sha256()
        with open(path, "rb") as stream:
            while block := stream.read(1 << 20):
                digest.update(block)


def raw_evtx(paths: list[Path]) -> int:
    records = 0
    for path in paths:
        for _ in evtx.PyEvtxParser(str(path)).records_json():
            records += 1
    return records


def investigate(case: Path, roots: Path) -> dict:
    """``exlab investigate CASE --roots ROOTS --json -`` in this process; returns the diagnosis."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        code = exlab_main(["investigate", str(case), "--roots", str(roots), "--json", "-"])
    if code != 0:
        raise RuntimeError(f"exlab investigate {case} exited {code}")
    return json.loads(out.getvalue())


def best(repeat: int, function, *args) -> tuple[object, float]:
    """(result, best wall seconds of ``repeat`` runs)."""
    runs = []
    for _ in range(repeat):
        start = time.perf_counter()
        result = function(*args)
        runs.append((time.perf_counter() - start, result))
    seconds, result = min(runs, key=lambda run: run[0])
    return result, seconds


def peak_mb(code: str) -> float:
    """Peak resident memory (MB) of a child Python running ``code`` (its own high-water mark)."""
    probe = code + "\nprint([l for l in open('/proc/self/status') if l.startswith('VmHWM')][0].split()[1])"
    run = subprocess.run([sys.executable, "-c", probe], check=True, capture_output=True, text=True, cwd=REPO,
                         env=os.environ | {"PYTHONPATH": str(REPO)})
    return int(run.stdout.split()[-1]) * 1024 / MB


def investigate_peak(case: Path, roots: Path) -> float:
    return peak_mb("import contextlib, io, warnings; warnings.simplefilter('ignore'); import exlab.cli\n"
                   "with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):\n"
                   f"    exlab.cli.main(['investigate', {str(case)!r}, '--roots', {str(roots)!r}])")


def logs_read_peak(case: Path) -> float:
    folders = sorted({str(p.parent) for p in files_of(case, ".LOG")})
    sends = [f for f in folders if Path(f).name == "SmtpSend"]
    tracking = [f for f in folders if Path(f).name == "MessageTracking"]
    return peak_mb("import warnings; warnings.simplefilter('ignore'); import exlab\n"
                   f"exlab.read_protocol_log({sends!r}); exlab.read_tracking_log({tracking!r})")


def measure(folder: Path, case_name: str, scale: int, logs_mb: float, repeat: int, seed: int,
            events: int | None) -> Measured:
    case = build_case(folder / f"x{scale}", case_name, logs_mb, seed, events)
    twin = without_logs(case, folder / f"x{scale}-without-logs" / case.name)
    roots = folder / f"x{scale}" / ROOTS_FILE
    truth = json.loads((case / "truth.json").read_text(encoding="utf-8"))
    logs, events = files_of(case, ".LOG"), files_of(case, ".evtx")
    investigate(twin, roots)                                    # imports and caches, outside the timing
    _, raw_log_seconds = best(repeat, raw_logs, logs)
    _, raw_evtx_seconds = best(repeat, raw_evtx, events)
    _, hash_seconds = best(repeat, hash_logs, logs)
    diagnosis, seconds = best(repeat, investigate, case, roots)
    _, twin_seconds = best(repeat, investigate, twin, roots)
    verdict = diagnosis.get("verdict")
    if verdict != truth["verdict"]:
        raise RuntimeError(f"x{scale}: verdict {verdict!r}, truth says {truth['verdict']!r}")
    size = sum(p.stat().st_size for p in case.rglob("*") if p.is_file() and p.name != "truth.json")
    return Measured(scale, size / MB, sum(p.stat().st_size for p in logs) / MB, raw_log_seconds + raw_evtx_seconds,
                    raw_log_seconds, hash_seconds, seconds, twin_seconds, investigate_peak(case, roots),
                    investigate_peak(twin, roots), logs_read_peak(case), verdict)


def _ratio(raw: float, marginal: float) -> str:
    """The logs' marginal cost against the raw read; ``-`` when the marginal time is within the noise
    of two runs (not above zero: a tiny case on a busy machine), where a ratio would mean nothing."""
    return f"{raw / marginal:.3f}" if marginal > 0 else "-"


def report(rows: list[Measured]) -> str:
    lines = [f"{'scale':>5} {'input MB':>9} {'logs MB':>8} {'raw s':>7} {'exlab s':>8} {'ratio':>6} "
             f"{'no-logs s':>9} {'marginal s':>10} {'arrow s':>8} {'ratio':>6} {'sha256 s':>8} "
             f"{'peak MB':>8} {'start MB':>8} {'MB/MB':>6} {'logs peak':>9}"]
    for m in rows:
        per_mb = (m.peak_mb - m.peak_without_logs_mb) / m.input_mb
        lines.append(f"{m.scale:>4}x {m.input_mb:>9.1f} {m.logs_mb:>8.1f} {m.raw:>7.2f} {m.investigate:>8.2f} "
                     f"{m.raw / m.investigate:>6.3f} {m.investigate_without_logs:>9.2f} {m.marginal:>10.2f} "
                     f"{m.raw_logs:>8.2f} {_ratio(m.raw_logs, m.marginal):>6} {m.hash_logs:>8.3f} "
                     f"{m.peak_mb:>8.0f} {m.peak_without_logs_mb:>8.0f} {per_mb:>6.2f} {m.logs_read_peak_mb:>9.0f}")
    first = rows[0]
    for m in rows[1:]:
        lines.append(f"x{first.scale} -> x{m.scale}: input x{m.input_mb / first.input_mb:.1f}, investigate time "
                     f"x{m.investigate / first.investigate:.1f}, marginal time x{m.marginal / max(first.marginal, 1e-9):.1f}, "
                     f"peak memory x{m.peak_mb / first.peak_mb:.1f}, "
                     f"{(m.peak_mb - first.peak_mb) / (m.input_mb - first.input_mb):.2f} MB of peak per MB of input added")
    lines += ["", "ratio = raw read time / exlab time (1.0: as fast as the raw read); the second ratio is the logs' "
              "marginal cost against pyarrow.csv of the logs (target >= 0.5, floor 0.1); sha256 s = SHA-256 "
              "alone over the logs, which every read by exlab includes",
              "MB/MB = (peak - the case without logs' peak) / input MB (target < 1.5); at a small scale it also "
              "counts what reading any log costs once (jemalloc's arenas, the log readers' buffers): the growth "
              "line's MB of peak per MB of input added is the cost per MB alone",
              f"verdicts: {', '.join(f'x{m.scale} {m.verdict}' for m in rows)}; "
              f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size-mb", type=float, default=20, help="MB of transport logs at scale 1 (default 20)")
    parser.add_argument("--scales", default="1,10", help="comma-separated multiples of --size-mb (default 1,10)")
    parser.add_argument("--case", default="contoso-kb2888788", help="the lab case (default contoso-kb2888788)")
    parser.add_argument("--repeat", type=int, default=2, help="best of N runs per timing (default 2)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--events", type=int, help="background records in each Application.evtx (default: the case's)")
    args = parser.parse_args(argv)
    scales = [int(s) for s in args.scales.split(",")]
    with tempfile.TemporaryDirectory(prefix="exlab-bench-") as folder:
        rows = []
        for scale in scales:
            rows.append(measure(Path(folder), args.case, scale, args.size_mb * scale, args.repeat, args.seed,
                                args.events))
            print(f"x{scale} measured", file=sys.stderr)
    print(f"exlab {exlab.__version__}: {args.case} with {DAYS} days of background mail flow before the incident\n")
    print(report(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
