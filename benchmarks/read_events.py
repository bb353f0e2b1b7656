"""How fast exlab reads .evtx files, against the raw engines in the same process.

Prints one table: records per second of exlab's full and filtered reads against a
bare pyevtx-rs ``records_json()`` loop, of the python-evtx engine against
python-evtx's own ``record.xml()`` loop, and the peak memory of a filtered read
of the big file (measured in a child process, its helper processes included).

exlab reads a file of 16 MiB or more with one process per core (``workers``), the
raw loop uses pyevtx-rs's own threads (which do not make it faster: it holds the
GIL). So the table also gives the CPU seconds each read used, in all its
processes, and the rate per CPU second against the raw loop's.

The big file is built under a temporary folder by repeating the intact chunks of
the corpus files behind a fresh file header (correct CRC); nothing is written in
the repository or next to the corpus.

    .venv/bin/python benchmarks/read_events.py                 # 100 MB big file
    .venv/bin/python benchmarks/read_events.py --size-mb 1024  # the 1 GB memory check

Targets (from the issue): full read >= 0.35 of the raw loop, filtered read >= 0.7,
python-evtx engine no slower than python-evtx's own loop, filtered read of 1 GB
under 1 GB peak memory.
"""

from __future__ import annotations

import argparse
import io
import os
import resource
import struct
import subprocess
import sys
import tempfile
import time
import warnings
import zlib
from collections import Counter
from pathlib import Path

import evtx
from Evtx.Evtx import Evtx

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import exlab  # noqa: E402
import exlab.parallel  # noqa: E402
from exlab.events import evtx_layout as layout  # noqa: E402

CORPUS = Path(os.environ.get("EXLAB_CORPUS", REPO.parent / "shared" / "evtx-corpus"))


def intact_chunks(path: Path) -> list[bytes]:
    """Chunks of ``path`` that both the walker and pyevtx-rs read without a loss."""
    data = path.read_bytes()
    header = layout.build_file_header(chunk_count=1)
    chunks = []
    for slot in layout.iter_chunks(io.BytesIO(data), len(data)):
        if slot.status != layout.OK or layout.walk_records(slot.data).stop_reason:
            continue
        records = evtx.PyEvtxParser(io.BytesIO(header + slot.data)).records_json()
        try:
            for _ in records:
                pass
        except RuntimeError:
            continue
        chunks.append(slot.data)
    return chunks


def renumbered(chunk: bytes, first: int) -> tuple[bytes, int]:
    """``chunk`` with its records numbered from ``first`` (each record header, the chunk's first
    and last numbers and ids, both CRC32s), and how many records it holds. A big file of repeated
    corpus chunks then holds distinct records, as a real log does: copies would be dropped as
    duplicates by exlab and the full read would count fewer records than the raw loop."""
    data = bytearray(chunk)
    records = layout.walk_records(chunk).records
    for n, record in enumerate(records):
        struct.pack_into("<Q", data, record.offset + 8, first + n)
    last = first + len(records) - 1
    struct.pack_into("<QQQQ", data, 8, first, last, first, last)
    free = layout.parse_chunk_header(chunk).free_space_offset
    struct.pack_into("<I", data, 52, zlib.crc32(bytes(data[layout.CHUNK_HEADER_SIZE:free])))
    struct.pack_into("<I", data, 124, zlib.crc32(bytes(data[:120] + data[128:layout.CHUNK_HEADER_SIZE])))
    return bytes(data), len(records)


def build_big_file(target: Path, size_mb: int, sources: list[Path]) -> int:
    """Write ``target`` of at least ``size_mb`` MB from intact corpus chunks, their records
    renumbered in file order (:func:`renumbered`); return chunk count."""
    pool = [chunk for source in sources for chunk in intact_chunks(source)]
    count = -(-size_mb * 1024 * 1024 // layout.CHUNK_SIZE)
    number = 1
    with open(target, "wb") as out:
        out.write(layout.build_file_header(chunk_count=count))
        for index in range(count):
            chunk, records = renumbered(pool[index % len(pool)], number)
            out.write(chunk)
            number += records
        out.seek(0)
        out.write(layout.build_file_header(chunk_count=count, next_record=number))
    return count


def raw_rust_loop(path: Path) -> int:
    records = 0
    for _ in evtx.PyEvtxParser(str(path)).records_json():
        records += 1
    return records


def raw_python_evtx_loop(path: Path) -> int:
    records = 0
    with Evtx(str(path)) as log:
        for record in log.records():
            record.xml()
            records += 1
    return records


def cpu_seconds() -> float:
    """CPU seconds used so far by this process and the children it waited for."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def timed(function, *args, **kwargs):
    """(result, wall seconds, CPU seconds in every process)."""
    start, cpu = time.perf_counter(), cpu_seconds()
    result = function(*args, **kwargs)
    return result, time.perf_counter() - start, cpu_seconds() - cpu


def exlab_read(path: Path, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", exlab.ExlabWarning)
        return exlab.read_events(path, **kwargs)


def rarest_event_id(frame) -> int:
    """The least frequent event id of a frame (a needle, like 2004 in an Application log)."""
    counts = Counter(frame["event_id"].dropna().astype(int))
    return min(counts, key=lambda key: (counts[key], key))


def peak_memory_mb(path: Path, event_id: int) -> tuple[float, int]:
    """Peak memory (MB) of a filtered read in a child process, and the rows it got: the
    child's own peak (VmHWM; ru_maxrss would carry the parent's peak over exec) plus,
    for each helper process it started, the largest helper's peak."""
    code = ("import resource, warnings; warnings.simplefilter('ignore'); import exlab, exlab.parallel; "
            f"f = exlab.read_events({str(path)!r}, event_ids=[{event_id}]); "
            "hwm = [l for l in open('/proc/self/status') if l.startswith('VmHWM')][0].split()[1]; "
            "helpers = exlab.parallel.cores() - 1; "
            "print(len(f), int(hwm) + helpers * resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True,
                         cwd=REPO).stdout.split()
    return int(out[1]) / 1024, int(out[0])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size-mb", type=int, default=100, help="size of the big file (default 100)")
    parser.add_argument("--repeat", type=int, default=3, help="best of N runs per measurement")
    parser.add_argument("--skip-python-evtx", action="store_true", help="skip the (slow) python-evtx rows")
    parser.add_argument("--memory-only", action="store_true",
                        help="only build the big file and measure a filtered read's peak memory")
    args = parser.parse_args()

    files = sorted(CORPUS.glob("*.evtx"), key=lambda p: (-p.stat().st_size, p.name))
    if not files:
        print(f"no corpus at {CORPUS}", file=sys.stderr)
        return 1
    largest = files[0]
    rows: list[tuple[str, str, int, float, float, str, str]] = []

    def best(function, *fargs, **fkwargs):
        runs = [timed(function, *fargs, **fkwargs) for _ in range(args.repeat)]
        return min(runs, key=lambda run: run[1])

    def row(label, what, records, seconds, cpu, baseline=None):
        """A table row; ``baseline`` is the (wall, CPU) rate of the raw loop it is compared with."""
        rate, cpu_rate = records / seconds, records / max(cpu, 1e-9)
        ratios = ("1.00", "1.00") if baseline is None else \
            (f"{rate / baseline[0]:.2f}", f"{cpu_rate / baseline[1]:.2f}")
        rows.append((label, what, records, seconds, cpu, *ratios))
        return rate, cpu_rate

    with tempfile.TemporaryDirectory(prefix="exlab-bench-") as folder:
        big = Path(folder) / "big.evtx"
        chunks = build_big_file(big, args.size_mb, files)
        if args.memory_only:
            event_id = rarest_event_id(exlab_read(largest))
            peak, kept = peak_memory_mb(big, event_id)
            print(f"filtered read (event {event_id}) of a {big.stat().st_size / 2**20:.0f} MB file: "
                  f"peak {peak:.0f} MB ({kept} rows kept)")
            return 0
        for label, path in ((largest.name, largest), (f"big ({big.stat().st_size / 2**20:.0f} MB)", big)):
            raw_records, raw_seconds, raw_cpu = best(raw_rust_loop, path)
            baseline = row(label, "pyevtx-rs records_json() loop", raw_records, raw_seconds, raw_cpu)
            frame, seconds, cpu = best(exlab_read, path)
            row(label, "exlab full read", len(frame), seconds, cpu, baseline)
            event_id = rarest_event_id(frame)
            frame, seconds, cpu = best(exlab_read, path, event_ids=[event_id])
            scanned = frame.attrs["parse_report"].records_read
            row(label, f"exlab filtered read (event {event_id}: {len(frame)} rows)", scanned, seconds, cpu,
                baseline)
        if not args.skip_python_evtx:
            raw_records, raw_seconds, raw_cpu = timed(raw_python_evtx_loop, largest)
            baseline = row(largest.name, "python-evtx record.xml() loop", raw_records, raw_seconds, raw_cpu)
            frame, seconds, cpu = timed(exlab_read, largest, engine="python-evtx")
            row(largest.name, "exlab python-evtx engine", len(frame), seconds, cpu, baseline)
        peak, kept = peak_memory_mb(big, event_id)

    print(f"\nbig file: {chunks} chunks ({args.size_mb} MB) of intact corpus chunks; "
          f"python-evtx measured on {largest.name} only (its loop runs ~150 records/s)")
    print(f"exlab reads files of 16 MiB and more in {exlab.parallel.cores()} process(es) (one per core); "
          "'cpu' counts the CPU seconds of all of them\n")
    print(f"{'file':<42} {'measurement':<48} {'records':>8} {'seconds':>8} {'cpu':>6} {'ratio':>6} "
          f"{'per cpu':>7}")
    for label, what, records, seconds, cpu, ratio, cpu_ratio in rows:
        print(f"{label:<42} {what:<48} {records:>8} {seconds:>8.2f} {cpu:>6.2f} {ratio:>6} {cpu_ratio:>7}")
    print(f"\npeak memory of a filtered read of the big file (child process): {peak:.0f} MB "
          f"({kept} rows kept)")
    print(f"load average while measuring: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    return 0


if __name__ == "__main__":
    sys.exit(main())
