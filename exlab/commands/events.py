"""``exlab events``: read event exports, print a summary, optionally write the events frame.

    exlab events PATH... [--event-id N]... [--provider P]... [--since T] [--until T]
                 [--engine E] [--workers N] [--tz ZONE] [--culture CULTURE] [-o FILE]

The summary counts events by provider and event id, gives the time range per computer,
and lists what the parse report lost. ``-o`` writes CSV, Parquet or JSON Lines, chosen by
the extension (``.csv``, ``.parquet``, ``.jsonl``), by the rules of
:mod:`exlab.commands.export` (``data`` as JSON text in CSV and Parquet, as an object in
JSON Lines; CSV cells a spreadsheet would run as a formula neutralised). Folders are
searched for event exports; other files in them (certificates, logs) are passed over.

>>> parser = argparse.ArgumentParser(prog="exlab")
>>> add_parser(parser.add_subparsers(dest="command"))
>>> args = parser.parse_args(["events", "Application.evtx", "--event-id", "2004", "-o", "out.csv"])
>>> args.event_id, args.output
([2004], 'out.csv')
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from exlab.bundle import Member
from exlab.cli import add_link_option
from exlab.cultures import DATE_FORMATS
from exlab.errors import ExlabError, NoEvidence
from exlab.events.query import ENGINES
from exlab.evidence import progress_over, read_head, split_folders
from exlab.parse_report import ParseReport
from exlab.value_ranges import ascii_digits
from exlab.visible import visible, visible_lines

if TYPE_CHECKING:   # pandas, the readers and the writers load when the command runs, not for --help
    import pandas as pd

PROGRESS_DELAY = 1.0        # seconds of reading before the progress bar (on a terminal) shows


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
    parser.add_argument("--culture", choices=tuple(DATE_FORMATS), metavar="CULTURE",
                        help="the server's culture (e.g. en-AU, en-GB, de-DE), for CSV/TXT exports whose dates "
                             "do not tell day from month")
    parser.add_argument("-o", "--output", help="write the events to FILE (.csv, .parquet or .jsonl)")
    add_link_option(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Read, summarise, write; returns the exit code.

    >>> import io, tempfile
    >>> from pathlib import Path
    >>> from exlab.lab.event_exports import write_wevtutil_xml
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     _ = write_wevtutil_xml(Path(folder) / "app.xml", [{"time_created": 0, "provider": "P", "event_id": 1}])
    ...     code = run(argparse.Namespace(paths=[folder], event_id=None, provider=None, since=None, until=None,
    ...                                   engine="auto", workers=None, tz=None, culture=None, output=None,
    ...                                   follow_links=False))
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
    from exlab.commands.export import export_target, write_export
    from exlab.events.reader import FORMATS

    output = export_target(args.output, args.paths)
    for option, value in (("--since", args.since), ("--until", args.until)):
        _check_time(option, value)
    files, passed_over = split_folders(args.paths, _is_event_export, follow_links=args.follow_links)
    if not files:
        raise NoEvidence(", ".join(args.paths), None, f"an event export ({', '.join(m.FORMAT for m in FORMATS)})",
                         f"{len(passed_over)} file(s) looked at, none is one")
    frame, refused = _read_all(files, args)
    for err in refused:
        print(f"not read: {visible(err)}")
    print(summary(frame, passed_over=passed_over))
    if output is not None:
        write_export(frame, output)
        print(f"Wrote {len(frame):,} events to {visible(output)}")
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
    from exlab.commands.export import utc_text

    report: ParseReport = frame.attrs.get("parse_report") or ParseReport()
    lines = [f"{len(frame):,} event(s) from {len(report.files)} file(s)."]
    if passed_over:
        lines.append(f"Passed over {len(passed_over)} file(s) that are not event exports.")
    if len(frame):
        lines += ["", "Events by provider and event id:"]
        counts = (frame.assign(provider=frame["provider"].fillna("(none)"))
                  .groupby(["provider", "event_id"], dropna=False).size().sort_values(ascending=False))
        providers = [visible(provider) for provider, _ in counts.index]   # aligned as they are shown
        width = max(map(len, providers))
        lines += [f"  {provider:<{width}}  {event_id:>5}  {count:,}"
                  for provider, ((_, event_id), count) in zip(providers, counts.items())]
        lines += ["", "Time range per computer (UTC):"]
        by_computer = frame.assign(computer=frame["computer"].fillna("(not in the export)")).groupby("computer")
        width = max(len(visible(c)) for c in by_computer.groups)
        for computer, group in by_computer:
            times = group["time_created"].dropna()
            span = (f"{utc_text(times.min())} .. {utc_text(times.max())}" if len(times) else "no times")
            lines.append(f"  {visible(computer):<{width}}  {span}  ({len(group):,} events)")
    lines += ["", *_losses(report)]
    return visible_lines(lines)


def _check_time(option: str, value: str | None) -> None:
    import pandas as pd

    if value is None:
        return
    try:
        pd.Timestamp(value)
    except ValueError:
        raise ExlabError(option, None, "an ISO 8601 time such as 2025-03-20T09:00:00Z", f"got {value!r}") from None


def _is_event_export(path: Path | Member) -> bool:
    """Whether a file found in a folder (or a zip) is an event export, by its head."""
    from exlab.events.reader import FORMATS

    head = read_head(path)
    return bool(head) and any(module.detect(head) for module in FORMATS)


def _workers(text: str) -> int:
    """``--workers``: a whole number of at least 1.

    >>> _workers("2")
    2
    """
    if not ascii_digits(text) or int(text) < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of at least 1, not {text!r}")
    return int(text)


def _read_all(files: list, args: argparse.Namespace) -> tuple[pd.DataFrame, list[ExlabError]]:
    """The events of every file, and the errors of the files a reader refused: one bad file of
    several does not stop the others (a file given alone, or every file refused, raises)."""
    import pandas as pd
    from tqdm.auto import tqdm

    from exlab.events.reader import read_events
    from exlab.events.schema import empty_events_frame

    sizes = [Path(f).stat().st_size for f in files]
    frames, reports = [], []
    with tqdm(total=sum(sizes), desc="event exports", unit="B", unit_scale=True, unit_divisor=1024,
              file=sys.stderr, delay=PROGRESS_DELAY, disable=not sys.stderr.isatty()) as bar:
        refused: list[ExlabError] = []
        for file, size in zip(files, sizes):
            try:
                with progress_over(bar.update, size):      # a big .evtx file moves it batch by batch
                    frame = read_events(file, event_ids=args.event_id, providers=args.provider, start=args.since,
                                        end=args.until, engine=args.engine, tz=args.tz, workers=args.workers,
                                        culture=args.culture)
            except ExlabError as err:
                if len(files) == 1:
                    raise
                refused.append(err)
                continue
            reports.append(frame.attrs["parse_report"])
            frames.append(frame)
    if not reports:
        raise refused[0]
    report = ParseReport().extend(reports)
    frames = [f for f in frames if len(f)]
    frame = pd.concat(frames, ignore_index=True) if frames else empty_events_frame()
    frame.attrs["parse_report"] = report
    return frame, refused


def _losses(report: ParseReport) -> list[str]:
    lines = []
    for file in report.files:
        if file.losses:
            first = file.losses[0]
            lines.append(f"  {file.file}: {file.records_skipped:,} record(s), {file.chunks_skipped:,} chunk(s) "
                         f"skipped; first at {first.where}: {first.reason}")
        if file.account is not None and file.account.noteworthy:     # a .evtx file's record account
            lines.append(f"  {file.file}: {file.account.summary()}; {file.account.statements[0]}")
    assumed = [f"  {f.file}: local times read as {f.assumed_tz}" for f in report.files if f.assumed_tz]
    out = ["Losses:", *lines] if lines else ["Losses: none"]
    if assumed:
        out += ["Time zones:", *assumed]
    return out
