"""How the evidence store's ingest scales, and how its queries compare with pandas.

Generates the lab's site of three servers (``litware-servers``) with ``--events`` background
records per server's Application log, then:

* ingests it into a fresh store with a local Dask cluster of 1 worker, then of 2 workers
  (the ratio of the two wall times; on a machine of 2 cores shared with other work it stays
  well under 2);
* one big .evtx file (the contoso server's Application log of ``--big-events`` records) ingested
  as a task per span of chunks (``span_size=0``), with 1 then 2 workers, and as one task with
  2 workers (its helper processes reading beside it) for comparison;
* the throughput of the ingest (MB/s of input, from the tasks' own times) for the .evtx files
  against a bare pyevtx-rs ``records_json()`` loop over the same files, and for the text logs
  against ``pyarrow.csv`` reading the same files;
* the peak memory (max RSS) of each worker process after the ingest;
* the store's size against the input's;
* the time of the cross-server questions (``exlab.fleet`` helpers) in DuckDB over the store
  against the same questions in pandas over frames read directly from the folder (the read
  itself timed apart).

Everything is written under a temporary folder, never in the repository.

    .venv/bin/python benchmarks/fleet.py                  # 20,000 records per server (a few minutes on 2 cores)
    .venv/bin/python benchmarks/fleet.py --events 200 --big-events 5000    # a quick look
    .venv/bin/python benchmarks/fleet.py --json out.json  # the numbers as JSON too
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import tempfile
import time
import warnings
from pathlib import Path

import evtx
import pyarrow.csv as pacsv

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import exlab
from exlab.fleet import (
    Store,
    certificates_presented,
    failure_spans,
    failures_per_hour,
    ingest,
)
from exlab.fleet.ingestion import local_client
from exlab.lab.generate import generate_case

HELPERS = (failures_per_hour, failure_spans, certificates_presented)
MB = 1024 * 1024


def size_of(folder: Path) -> int:
    return sum(path.stat().st_size for path in folder.rglob("*") if path.is_file())


def timed(function, *args, **kwargs) -> tuple[float, object]:
    began = time.perf_counter()
    result = function(*args, **kwargs)
    return time.perf_counter() - began, result


def peak_rss_mb() -> float:
    """This process's peak resident memory (run on each worker)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024   # KiB on Linux


def ingest_with(workers: int, case: Path, store: Path, **options) -> tuple[float, list[float]]:
    """Wall time of an ingest (``options``: ``ingest``'s) on a new local cluster of ``workers`` processes,
    and each worker's peak memory."""
    client = local_client(workers)
    try:
        seconds, _ = timed(ingest, [case], store, client=client, progress=False, **options)
        memory = sorted(client.run(peak_rss_mb).values())
    finally:
        cluster = client.cluster
        client.close()
        cluster.close()
    return seconds, memory


def raw_evtx(files: list[Path]) -> float:
    """Seconds of a bare pyevtx-rs loop over ``files``."""
    began = time.perf_counter()
    for path in files:
        for _ in evtx.PyEvtxParser(str(path)).records_json():
            pass
    return time.perf_counter() - began


def raw_csv(files: list[Path]) -> float:
    """Seconds of pyarrow.csv over the W3C logs (the ``#`` header lines skipped, columns unnamed)."""
    began = time.perf_counter()
    for path in files:
        with open(path, "rb") as stream:
            header = sum(1 for line in stream if line.startswith(b"#"))
        pacsv.read_csv(path, read_options=pacsv.ReadOptions(skip_rows=header, autogenerate_column_names=True),
                       parse_options=pacsv.ParseOptions(invalid_row_handler=lambda row: "skip"))
    return time.perf_counter() - began


def rate(size: int, seconds: float) -> float:
    return size / MB / seconds if seconds else float("inf")


def big_evtx(work: Path, records: int) -> dict:
    """One big .evtx ingested as span tasks with 1 and 2 workers, and as one task with 2 workers."""
    folder = generate_case("contoso-kb2888788", work / "big", events=records, only=("evtx",)).folder
    size = size_of(folder)
    spans_one, _ = ingest_with(1, folder, work / "big-1", span_size=0)
    spans_two, memory = ingest_with(2, folder, work / "big-2", span_size=0)
    whole, _ = ingest_with(2, folder, work / "big-whole", span_size=size + 1)
    return {"big_evtx_mb": size / MB, "big_spans_1_worker_s": spans_one, "big_spans_2_workers_s": spans_two,
            "big_spans_speedup": spans_one / spans_two, "big_one_task_2_workers_s": whole,
            "big_spans_peak_rss_mb_per_worker_2": memory}


def run(events: int, big_events: int) -> dict:
    work = Path(tempfile.mkdtemp(prefix="exlab-bench-fleet-"))
    case = generate_case("litware-servers", work / "evidence", events=events).folder
    evtx_files = sorted(case.rglob("*.evtx"))
    log_files = sorted(p for p in case.rglob("*.LOG"))
    numbers: dict = {"events_per_server": events, "input_mb": size_of(case) / MB}
    one, memory_one = ingest_with(1, case, work / "store-1")
    two, memory_two = ingest_with(2, case, work / "store-2")
    numbers |= {"ingest_1_worker_s": one, "ingest_2_workers_s": two, "speedup_2_workers": one / two,
                "peak_rss_mb_per_worker_1": memory_one, "peak_rss_mb_per_worker_2": memory_two}
    entries = Store.open(work / "store-1").entries()
    task_seconds = {kind: sum(e.seconds for e in entries if e.kind == kind) for kind in ("events", "sessions", "tracking")}
    evtx_size, log_size = sum(p.stat().st_size for p in evtx_files), sum(p.stat().st_size for p in log_files)
    numbers |= {"evtx_mb": evtx_size / MB, "evtx_ingest_mb_s": rate(evtx_size, task_seconds["events"]),
                "evtx_raw_loop_mb_s": rate(evtx_size, raw_evtx(evtx_files)),
                "logs_mb": log_size / MB,
                "logs_ingest_mb_s": rate(log_size, task_seconds["sessions"] + task_seconds["tracking"]),
                "logs_pyarrow_csv_mb_s": rate(log_size, raw_csv(log_files)),
                "store_mb": size_of(work / "store-1") / MB}
    numbers["store_to_input"] = numbers["store_mb"] / numbers["input_mb"]
    numbers |= big_evtx(work, big_events)
    read_seconds, folder = timed(exlab.open_case, case)
    numbers["pandas_read_folder_s"] = read_seconds
    numbers["queries"] = {}
    for helper in HELPERS:
        duck, on_store = timed(helper, work / "store-1")
        pandas_seconds, on_folder = timed(helper, folder)
        numbers["queries"][helper.__name__] = {"duckdb_s": duck, "pandas_s": pandas_seconds, "rows": len(on_store),
                                               "same_rows": len(on_store) == len(on_folder)}
    return numbers


def show(numbers: dict) -> str:
    lines = [
        f"input: {numbers['input_mb']:.1f} MB ({numbers['events_per_server']:,} background records per server)",
        (f"ingest: 1 worker {numbers['ingest_1_worker_s']:.2f} s, 2 workers {numbers['ingest_2_workers_s']:.2f} s "
         f"(x{numbers['speedup_2_workers']:.2f})"),
        (f"peak memory per worker: 1 worker {[round(m) for m in numbers['peak_rss_mb_per_worker_1']]} MB; "
         f"2 workers {[round(m) for m in numbers['peak_rss_mb_per_worker_2']]} MB"),
        (f".evtx ({numbers['evtx_mb']:.1f} MB): ingest {numbers['evtx_ingest_mb_s']:.1f} MB/s, "
         f"raw pyevtx-rs loop {numbers['evtx_raw_loop_mb_s']:.1f} MB/s"),
        (f"text logs ({numbers['logs_mb']:.1f} MB): ingest {numbers['logs_ingest_mb_s']:.1f} MB/s, "
         f"pyarrow.csv {numbers['logs_pyarrow_csv_mb_s']:.1f} MB/s"),
        f"store: {numbers['store_mb']:.1f} MB ({numbers['store_to_input']:.2f} of the input)",
        (f"one .evtx of {numbers['big_evtx_mb']:.1f} MB as span tasks: 1 worker {numbers['big_spans_1_worker_s']:.2f} s, "
         f"2 workers {numbers['big_spans_2_workers_s']:.2f} s (x{numbers['big_spans_speedup']:.2f}); "
         f"as one task, 2 workers {numbers['big_one_task_2_workers_s']:.2f} s"),
        f"pandas: folder read in {numbers['pandas_read_folder_s']:.2f} s, then per question:",
        f"  {'question':<24} {'DuckDB s':>9} {'pandas s':>9} {'rows':>6}",
    ]
    lines += [f"  {name:<24} {q['duckdb_s']:>9.3f} {q['pandas_s']:>9.3f} {q['rows']:>6}"
              for name, q in numbers["queries"].items()]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=20_000, help="background records per server's Application log")
    parser.add_argument("--big-events", type=int, default=100_000,
                        help="records of the one big .evtx ingested as span tasks (100,000: about 37 MB)")
    parser.add_argument("--json", help="also write the numbers to this JSON file")
    args = parser.parse_args(argv)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", exlab.ExlabWarning)
        numbers = run(args.events, args.big_events)
    print(show(numbers))
    if args.json:
        Path(args.json).write_text(json.dumps(numbers, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONWARNINGS", "ignore::DeprecationWarning")
    sys.exit(main())
