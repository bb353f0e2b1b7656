"""``exlab events``: read event exports, print a summary, optionally write the events frame.

    exlab events PATH... [--event-id N]... [--provider P]... [--since T] [--until T]
                 [--engine E] [--workers N] [--tz ZONE] [-o FILE]

The summary counts events by provider and event id, gives the time range per computer,
and lists what the parse report lost. ``-o`` writes CSV, Parquet or JSON Lines, chosen by
the extension (``.csv``, ``.parquet``, ``.jsonl``); the ``data`` dict becomes JSON text
and CSV cells that a spreadsheet would run as a formula are neutralised. Folders are
searched for event exports; other files in them (certificates, logs) are passed over.

>>> parser = argparse.ArgumentParser(prog="exlab")
>>> add_parser(parser.add_subparsers(dest="command"))
>>> args = parser.parse_args(["events", "Application.evtx", "--event-id", "2004", "-o", "out.csv"])
>>> args.event_id, args.output
([2004], 'out.csv')
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import pandas as pd
from tqdm.auto import tqdm

from exlab.errors import ExlabError
from exlab.events.query import ENGINES
from exlab.events.reader import FORMATS, read_events
from exlab.events.schema import empty_events_frame
from exlab.evidence import outside_evidence, split_folders
from exlab.parse_report import ParseReport

OUTPUT_KINDS = (".csv", ".parquet", ".jsonl")
PROGRESS_BYTES = 64 << 20   # show a progress bar over files when the inputs add up to this
PROGRESS_FILES = 20         # ... or when there are this many files
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def add_parser(subparsers) -> None:
    """Register ``exlab events`` on the CLI's sub-command parsers."""
    parser = subparsers.add_parser(
        "events", help="read event exports (.evtx, XML, CSV/TXT, CliXml) and summarise them",
        description="Read event exports into the events frame, print a summary and optionally write it.")
    parser.add_argument("paths", nargs="+", metavar="PATH", help="event export files or folders holding them")
    parser.add_argument("--event-id", type=int, action="append", help="keep only this event id (repeatable)")
    parser.add_argument("--provider", action="append", help="keep only this provider/source (repeatable)")
    parser.add_argument("--since", help="keep events at or after this time (ISO 8601; naive = UTC)")
    parser.add_argument("--until", help="keep events before this time (ISO 8601; naive = UTC)")
    parser.add_argument("--engine", choices=ENGINES, default="auto", help=".evtx engine (default: auto)")
    parser.add_argument("--workers", type=_workers, metavar="N",
                        help="processes that read one big .evtx file (default: one per core from 16 MiB; "
                             "1: this process alone)")
    parser.add_argument("--tz", help="the server's IANA time zone, for exports with local times (CSV/TXT)")
    parser.add_argument("-o", "--output", help="write the events to FILE (.csv, .parquet or .jsonl)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Read, summarise, write; returns the exit code.

    >>> import io, tempfile
    >>> from pathlib import Path
    >>> from exlab.lab.event_exports import write_wevtutil_xml
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     _ = write_wevtutil_xml(Path(folder) / "app.xml", [{"time_created": 0, "provider": "P", "event_id": 1}])
    ...     code = run(argparse.Namespace(paths=[folder], event_id=None, provider=None, since=None, until=None,
    ...                                   engine="auto", workers=None, tz=None, output=None))
    1 event(s) from 1 file(s).
    <BLANKLINE>
    Events by provider and event id:
      P      1  1
    <BLANKLINE>
    Time range per computer (UTC):
      (not in the export)  1970-01-01T00:00:00Z .. 1970-01-01T00:00:00Z  (1 events)
    <BLANKLINE>
    Losses: none
    >>> code
    0
    """
    output = Path(args.output) if args.output else None
    if output is not None and output.suffix.lower() not in OUTPUT_KINDS:
        raise ExlabError(str(output), None, f"an output file ending in {', '.join(OUTPUT_KINDS)}")
    if output is not None:
        output = outside_evidence(output, args.paths)
    for option, value in (("--since", args.since), ("--until", args.until)):
        _check_time(option, value)
    files, passed_over = split_folders(args.paths, _is_event_export)
    frame = _read_all(files, args)
    print(summary(frame, passed_over=passed_over))
    if output is not None:
        write_frame(frame, output)
        print(f"Wrote {len(frame):,} events to {output}")
    return 0


def summary(frame: pd.DataFrame, *, passed_over: list | None = None) -> str:
    """The text summary: events by provider and event id, time range per computer, losses.

    >>> from exlab.events.schema import events_frame
    >>> frame = events_frame([{"time_created": 0, "computer": "EX01", "provider": "MSExchangeTransport",
    ...                        "event_id": 2004, "data": {}, "source": "a.xml"}], ParseReport())
    >>> print(summary(frame))
    1 event(s) from 0 file(s).
    <BLANKLINE>
    Events by provider and event id:
      MSExchangeTransport   2004  1
    <BLANKLINE>
    Time range per computer (UTC):
      EX01  1970-01-01T00:00:00Z .. 1970-01-01T00:00:00Z  (1 events)
    <BLANKLINE>
    Losses: none
    """
    report: ParseReport = frame.attrs.get("parse_report") or ParseReport()
    lines = [f"{len(frame):,} event(s) from {len(report.files)} file(s)."]
    if passed_over:
        lines.append(f"Passed over {len(passed_over)} file(s) that are not event exports.")
    if len(frame):
        lines += ["", "Events by provider and event id:"]
        counts = (frame.assign(provider=frame["provider"].fillna("(none)"))
                  .groupby(["provider", "event_id"], dropna=False).size().sort_values(ascending=False))
        width = max(len(str(p)) for p, _ in counts.index)
        lines += [f"  {provider:<{width}}  {event_id:>5}  {count:,}" for (provider, event_id), count in counts.items()]
        lines += ["", "Time range per computer (UTC):"]
        by_computer = frame.assign(computer=frame["computer"].fillna("(not in the export)")).groupby("computer")
        width = max(len(str(c)) for c in by_computer.groups)
        for computer, group in by_computer:
            times = group["time_created"].dropna()
            span = (f"{_iso(times.min())} .. {_iso(times.max())}" if len(times) else "no times")
            lines.append(f"  {computer:<{width}}  {span}  ({len(group):,} events)")
    lines += ["", *_losses(report)]
    return "\n".join(lines)


def write_frame(frame: pd.DataFrame, output: Path) -> None:
    """Write the events frame as CSV, Parquet or JSON Lines (by extension), ``data`` as JSON text.

    >>> import tempfile
    >>> from exlab.events.schema import events_frame
    >>> frame = events_frame([{"time_created": 0, "provider": "P", "event_id": 1, "data": {"%1": "x"}}])
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     write_frame(frame, Path(folder) / "e.jsonl")
    ...     (Path(folder) / "e.jsonl").read_text(encoding="utf-8")[:60]
    '{"time_created": "1970-01-01T00:00:00Z", "computer": null, "'
    """
    table = frame.assign(data=frame["data"].map(lambda d: json.dumps(d, ensure_ascii=False), na_action="ignore"))
    table.attrs = {}  # the parse report is printed, not stored in the file
    kind = output.suffix.lower()
    if kind == ".parquet":
        table.to_parquet(output, index=False)
        return
    table = table.assign(time_created=table["time_created"].map(_iso, na_action="ignore"))
    if kind == ".csv":
        neutral = {name: table[name].map(neutralise, na_action="ignore")
                   for name in table.columns if table[name].dtype == "string" or table[name].dtype == object}
        table.assign(**neutral).to_csv(output, index=False, encoding="utf-8", lineterminator="\r\n")
    else:
        plain = table.astype(object).where(table.notna(), None)
        with open(output, "w", encoding="utf-8", newline="\n") as out:
            for record in plain.to_dict(orient="records"):
                out.write(json.dumps(record, ensure_ascii=False, default=int) + "\n")


def neutralise(cell):
    """A CSV cell a spreadsheet will show as text, never run as a formula.

    >>> neutralise("=HYPERLINK(\\"http://x\\")"), neutralise("-1"), neutralise("EX01")
    ('\\'=HYPERLINK("http://x")', "'-1", 'EX01')
    """
    if isinstance(cell, str) and cell.startswith(_FORMULA_STARTS):
        return "'" + cell
    return cell


def _check_time(option: str, value: str | None) -> None:
    if value is None:
        return
    try:
        pd.Timestamp(value)
    except ValueError:
        raise ExlabError(option, None, "an ISO 8601 time such as 2025-03-20T09:00:00Z", f"got {value!r}") from None


def _is_event_export(path: Path) -> bool:
    """Whether a file found in a folder is an event export, by its head (read_events hashes what it reads)."""
    with open(path, "rb") as handle:
        head = handle.read(64 * 1024)
    return bool(head) and any(module.detect(head) for module in FORMATS)


def _workers(text: str) -> int:
    """``--workers``: a whole number of at least 1.

    >>> _workers("2")
    2
    """
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of at least 1, not {text!r}")
    return int(text)


def _read_all(files: list, args: argparse.Namespace) -> pd.DataFrame:
    sizes = [Path(f).stat().st_size for f in files]
    big = sum(sizes) >= PROGRESS_BYTES or len(files) >= PROGRESS_FILES
    frames, reports = [], []
    for file in tqdm(files, desc="event exports", unit="file", file=sys.stderr, disable=not big):
        frame = read_events(file, event_ids=args.event_id, providers=args.provider, start=args.since,
                            end=args.until, engine=args.engine, tz=args.tz, workers=args.workers)
        reports.append(frame.attrs["parse_report"])
        frames.append(frame)
    report = ParseReport().extend(reports)
    frames = [f for f in frames if len(f)]
    frame = pd.concat(frames, ignore_index=True) if frames else empty_events_frame()
    frame.attrs["parse_report"] = report
    return frame


def _losses(report: ParseReport) -> list[str]:
    lines = []
    for file in report.files:
        if file.losses:
            first = file.losses[0]
            lines.append(f"  {file.file}: {file.records_skipped} record(s), {file.chunks_skipped} chunk(s) "
                         f"skipped; first at {first.where}: {first.reason}")
    assumed = [f"  {f.file}: local times read as {f.assumed_tz}" for f in report.files if f.assumed_tz]
    out = ["Losses:", *lines] if lines else ["Losses: none"]
    if assumed:
        out += ["Time zones:", *assumed]
    return out


def _iso(stamp: pd.Timestamp) -> str:
    """UTC time as Windows writes it: 7 fractional digits when there are any, and Z."""
    text = stamp.strftime("%Y-%m-%dT%H:%M:%S")
    rest = stamp.value % 1_000_000_000
    if rest:
        text += f".{rest // 100:07d}" if rest % 100 == 0 else f".{rest:09d}"
    return text + "Z"
