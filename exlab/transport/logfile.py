"""The CSV log files Exchange's transport writes (protocol logs, message tracking logs).

Each file starts with ``#`` header lines (``#Software``, ``#Version``, ``#Log-type``,
``#Date``, ``#Fields``) and continues with one CSV record per line (quotes doubled,
CRLF). This module checks the header against what a reader expects and streams the
records; the readers turn them into frames. Each Exchange version writes its own
``#Fields`` line (Exchange 2010 message tracking logs have 26 fields, 2013 27,
2016/2019 30), so every file is read by the columns of its own ``#Fields`` line and
its values are put in the reader's order: a field the file does not write is empty,
a field the reader does not know is named in the parse report. A line that does not
split into the file's fields is skipped, counted in the parse report and warned once
per file; a file without a ``#Fields`` line, or whose ``#Fields`` lacks a field the
reader needs, is refused with an ExlabError naming the file and line.

>>> import io
>>> from exlab.evidence import open_evidence
>>> from exlab.parse_report import ParseReport
>>> kind = LogKind("Demo Log", ("date-time", "event", "data"), "demo-log")
>>> text = b"#Software: Microsoft Exchange Server\\r\\n#Log-type: Demo Log\\r\\n" \\
...        b"#Fields: date-time,event,data\\r\\n2025-03-20T00:00:04.412Z,*,\\"a, b\\"\\r\\nbroken\\r\\n"
>>> report = ParseReport().add_file("demo.log", sha256="", format=kind.format)
>>> list(iter_records(open_evidence(io.BytesIO(text)), kind, report))
[(4, 1742428804412000000, ['2025-03-20T00:00:04.412Z', '*', 'a, b'])]
>>> report.records_read, report.records_skipped
(1, 1)
"""

from __future__ import annotations

import calendar
import csv
import io
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache, partial
from typing import NamedTuple, Union

from exlab.errors import CorruptInput, UnsupportedFormat
from exlab.evidence import Evidence, Sources, expand, iter_evidence
from exlab.limits import iter_capped_lines, skip_long_line
from exlab.parse_report import FileReport, ParseReport

_BOM = "\ufeff"
_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")
_HEADER_LIMIT = 32          # header lines a file may carry before its #Fields line
_DATE = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})")
_NATURAL = re.compile(r"(\d+)")


@dataclass(frozen=True)
class LogKind:
    """What a reader expects: the ``#Log-type`` value, the fields of its frame (in the order
    of the newest version's ``#Fields`` line; the first is ``date-time``), a format name,
    and the fields a file must write to be read (``None``: all of them).

    >>> LogKind("Demo Log", ("date-time", "event", "data"), "demo", ("date-time", "event")).needed
    ('date-time', 'event')
    """

    log_type: str
    fields: tuple[str, ...]
    format: str
    required: tuple[str, ...] | None = None

    @property
    def needed(self) -> tuple[str, ...]:
        return self.fields if self.required is None else self.required

    @property
    def fields_line(self) -> str:
        return "#Fields: " + ",".join(self.fields)


@dataclass
class LogHeader:
    """The ``#`` lines of one file, as written, and how its records map to the reader's fields.

    ``kind`` is the kind its ``#Log-type`` names (of those the reader accepts); ``positions``
    holds, for each of the kind's fields, its index in the file's records (None: not written).
    """

    software: str | None = None
    version: str | None = None
    log_type: str | None = None
    date: str | None = None
    fields: tuple[str, ...] | None = None
    other: dict[str, str] = field(default_factory=dict)
    kind: LogKind | None = None
    positions: tuple[int | None, ...] | None = None
    fields_at: int = 0


class LogRecord(NamedTuple):
    """One well-formed record: its file, line number, time (ns), values in the kind's field
    order, and the header of its file."""

    source: str
    line: int
    time: int
    values: list[str]
    header: LogHeader


Kinds = Union[LogKind, Sequence[LogKind]]


def detect(head: bytes, kind: Kinds) -> bool:
    """Whether the first bytes of a file are a log of this kind (or one of these kinds), by its
    ``#Log-type`` line.

    >>> kind = LogKind("Message Tracking Log", ("date-time",), "tracking")
    >>> detect(b"\\xef\\xbb\\xbf#Software: Microsoft Exchange Server\\r\\n#Log-type: Message Tracking Log\\r\\n", kind)
    True
    >>> detect(b"#Software: Microsoft Exchange Server\\r\\n#Log-type: SMTP Send Protocol Log\\r\\n", kind)
    False
    """
    text = _head_text(head)
    if not text.startswith("#"):
        return False
    for line in text.splitlines()[:_HEADER_LIMIT]:
        if not line.startswith("#"):
            return False
        name, _, value = line[1:].partition(":")
        if name.strip().lower() == "log-type":
            return _kind_named(_kinds(kind), value) is not None
    return False


def _kinds(kind: Kinds) -> tuple[LogKind, ...]:
    return (kind,) if isinstance(kind, LogKind) else tuple(kind)


def _kind_named(kinds: tuple[LogKind, ...], log_type: str) -> LogKind | None:
    wanted = log_type.strip().lower()
    return next((kind for kind in kinds if kind.log_type.lower() == wanted), None)


def rotation_key(name: str) -> list:
    """Sort key that puts rotated log files in order: numbers compare as numbers.

    >>> sorted(["SEND20250320-10.LOG", "SEND20250320-2.LOG", "SEND20250319-1.LOG"], key=rotation_key)
    ['SEND20250319-1.LOG', 'SEND20250320-2.LOG', 'SEND20250320-10.LOG']
    """
    return [int(part) if part.isdigit() else part.lower() for part in _NATURAL.split(name)]


def ordered_sources(source: Sources) -> list:
    """Paths and streams to read; when all are paths, in rotation order (see :func:`rotation_key`).

    >>> import io
    >>> len(ordered_sources([io.BytesIO(b"a"), io.BytesIO(b"b")]))
    2
    """
    items = expand(source)
    if all(not hasattr(item, "read") for item in items):
        items.sort(key=lambda item: rotation_key(str(item)))
    return items


def iter_log_lines(source: Sources, kind: Kinds, report: ParseReport,
                   check: Callable[[list[str]], str | None] | None = None) -> Iterator[LogRecord]:
    """A :class:`LogRecord` for every well-formed record of every log file, the files in
    rotation order, each added to ``report`` (in the format of the kind its ``#Log-type``
    names) and its losses warned once it is read (the records as :func:`iter_records` checks them).

    >>> import io
    >>> from exlab.parse_report import ParseReport
    >>> kind = LogKind("Demo Log", ("date-time", "data"), "demo")
    >>> report = ParseReport()
    >>> data = b"#Log-type: Demo Log\\r\\n#Fields: date-time,data\\r\\n2025-03-20T00:00:00Z,x\\r\\n"
    >>> [record[:4] for record in iter_log_lines(io.BytesIO(data), kind, report)], report.files[0].format
    ([('<stream>', 3, 1742428800000000000, ['2025-03-20T00:00:00Z', 'x'])], 'demo')
    """
    kinds = _kinds(kind)
    for evidence in iter_evidence(ordered_sources(source)):
        file_report = report.add_file(evidence.name, sha256=evidence.sha256, format=kinds[0].format,
                                      size=evidence.size)
        header = LogHeader()
        for line, time, values in iter_records(evidence, kinds, file_report, check, header):
            yield LogRecord(evidence.name, line, time, values, header)
        file_report.warn_losses()


def iter_records(evidence: Evidence, kind: Kinds, report: FileReport,
                 check: Callable[[list[str]], str | None] | None = None,
                 header: LogHeader | None = None) -> Iterator[tuple[int, int, list[str]]]:
    """Check the header and yield ``(line number, time ns, values)`` for every well-formed record,
    the values in the order of the kind's fields (``""`` for a field the file does not write).

    The file's ``#Log-type`` picks the kind among those given (its format goes to ``report``);
    its ``#Fields`` line says which value is which. The first field of every Exchange log is
    ``date-time`` (ISO UTC); a record whose time does not parse, whose field count differs
    from its ``#Fields`` line, or that ``check`` (optional: returns why the values are
    malformed, or None) refuses, is skipped and counted in ``report``. Fields the kind does
    not know are named once in ``report``. ``header``, when given, is filled as the ``#``
    lines are read.

    Raises UnsupportedFormat when ``#Log-type`` is not one of the kinds or ``#Fields`` lacks
    a field the kind needs, CorruptInput when the file has no ``#Fields`` line before its
    first record.

    >>> import io
    >>> from exlab.evidence import open_evidence
    >>> from exlab.parse_report import ParseReport
    >>> kind = LogKind("Demo Log", ("date-time", "data", "extra"), "demo", ("date-time", "data"))
    >>> report = ParseReport().add_file("demo", sha256="", format="demo")
    >>> data = b"#Log-type: Demo Log\\r\\n#Fields: date-time,data\\r\\n2025-03-20T00:00:00Z,x\\r\\n"
    >>> next(iter_records(open_evidence(io.BytesIO(data)), kind, report))
    (3, 1742428800000000000, ['2025-03-20T00:00:00Z', 'x', ''])
    """
    kinds = _kinds(kind)
    header = header if header is not None else LogHeader()
    header.kind = header.kind or kinds[0]
    for number, line in _text_lines(evidence, report):
        if not line.strip("\x00 \t"):
            continue
        if line.startswith("#"):
            _header_line(evidence, kinds, header, report, number, line)
            continue
        if header.fields is None:
            raise CorruptInput(evidence.name, f"line {number}", f"the header line {header.kind.fields_line!r} "
                               "before the first record")
        values = _split(line)
        if values is None or len(values) != len(header.fields):
            got = "unbalanced quotes" if values is None else f"{len(values)} fields"
            report.skip_record(f"line {number}", f"{got}, expected {len(header.fields)} fields "
                               f"(the #Fields line {header.fields_at})")
            continue
        if header.positions is not None:
            values = [values[index] if index is not None else "" for index in header.positions]
        time = parse_time(values[0])
        problem = (f"{header.kind.fields[0]} {values[0][:40]!r} is not an ISO UTC time" if time is None
                   else check(values) if check is not None else None)
        if problem is not None:
            report.skip_record(f"line {number}", problem)
            continue
        report.records_read += 1
        yield number, time, values
    if header.fields is None:
        raise CorruptInput(evidence.name, "the header", f"the header line {header.kind.fields_line!r}")


def _head_text(head: bytes) -> str:
    if head.startswith(_UTF16_BOMS):
        return head[:len(head) // 2 * 2].decode("utf-16", errors="replace")
    return head.decode("utf-8", errors="replace").lstrip(_BOM)


def _text_lines(evidence: Evidence, report: FileReport) -> Iterator[tuple[int, str]]:
    """(line number, text without line end) of each line; undecodable lines are counted and skipped.

    Exchange writes UTF-8; a log that went through Windows PowerShell 5.1 (``Get-Content |
    Out-File``) or Notepad may be UTF-16 with a BOM, which is read too.
    """
    stream = evidence.stream
    stream.seek(0)
    too_long = partial(skip_long_line, report)
    if stream.read(2) in _UTF16_BOMS:
        stream.seek(0)
        text = io.TextIOWrapper(stream, encoding="utf-16", errors="replace", newline="\n")
        try:
            for number, line in enumerate(iter_capped_lines(text, evidence.name, on_long=too_long), 1):
                if "\ufffd" in line:
                    report.skip_record(f"line {number}", "not UTF-16 text")
                    continue
                yield number, line.rstrip("\n").rstrip("\r")
        finally:
            text.detach()
        return
    stream.seek(0)
    for number, raw in enumerate(iter_capped_lines(stream, evidence.name, on_long=too_long), 1):
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError as err:
            report.skip_record(f"line {number}", f"not UTF-8 text ({err.reason} at byte {err.start})")
            continue
        yield number, (line.lstrip(_BOM) if number == 1 else line).rstrip("\r\n")


def _header_line(evidence: Evidence, kinds: tuple[LogKind, ...], header: LogHeader, report: FileReport,
                 number: int, line: str) -> None:
    name, _, value = line[1:].partition(":")
    key, value = name.strip().lower(), value.strip()
    if key == "fields":
        header.fields, header.fields_at = tuple(part.strip() for part in value.split(",")), number
        _map_fields(evidence, header, report, line)
    elif key == "log-type":
        kind = _kind_named(kinds, value)
        if kind is None:
            expected = " or ".join(f"#Log-type: {kind.log_type}" for kind in kinds)
            raise UnsupportedFormat(evidence.name, f"line {number}", expected, detail=f"found {line[:200]!r}")
        header.log_type, header.kind, report.format = value, kind, kind.format
        if header.fields is not None:
            _map_fields(evidence, header, report, line)
    elif key in ("software", "version", "date"):
        setattr(header, key, value)
    else:
        header.other[name.strip()] = value


def _map_fields(evidence: Evidence, header: LogHeader, report: FileReport, line: str) -> None:
    """Where each of the kind's fields sits in the file's records; refuse a file without a needed field."""
    kind, fields = header.kind, header.fields
    missing = [name for name in kind.needed if name not in fields]
    if missing:
        raise UnsupportedFormat(evidence.name, f"line {header.fields_at}",
                                f"a #Fields line with {', '.join(missing)} (as in {kind.fields_line!r})",
                                detail=f"found {line[:200]!r}")
    unknown = [name for name in fields if name not in kind.fields]
    if unknown:
        message = (f"line {header.fields_at}: #Fields names {len(unknown)} field(s) this reader does not know, "
                   f"not in the frame: {', '.join(unknown)}")
        if message not in report.warnings:
            report.note(message)
    positions = tuple(fields.index(name) if name in fields else None for name in kind.fields)
    header.positions = None if positions == tuple(range(len(fields))) else positions


def _split(line: str) -> list[str] | None:
    if '"' not in line:
        return line.split(",")
    try:
        rows = list(csv.reader((line,), strict=True))
    except csv.Error:
        return None
    return rows[0] if len(rows) == 1 else None


def parse_time(text: str) -> int | None:
    """Nanoseconds since the epoch of an ISO UTC time as Exchange logs write it, or None.

    >>> parse_time("2025-03-20T00:00:04.412Z")
    1742428804412000000
    >>> parse_time("2025-03-20 00:00:04") is None, parse_time("2025-02-30T00:00:00Z") is None
    (True, True)
    """
    if len(text) < 20 or text[-1] != "Z":
        return None
    seconds = _seconds(text[:19])
    if seconds is None:
        return None
    if len(text) == 20:
        return seconds * 1_000_000_000
    fraction = text[20:-1]
    if text[19] != "." or not (0 < len(fraction) <= 9 and fraction.isascii() and fraction.isdigit()):
        return None
    return seconds * 1_000_000_000 + int(fraction.ljust(9, "0"))


def _seconds(text: str) -> int | None:
    """Seconds since the epoch of ``YYYY-MM-DDTHH:MM:SS`` (validated), or None."""
    midnight = _midnight(text[:10])
    if midnight is None or text[10] != "T" or text[13] != ":" or text[16] != ":":
        return None
    hour, minute, second = text[11:13], text[14:16], text[17:19]
    if not (hour + minute + second).isascii() or not (hour + minute + second).isdigit():
        return None
    hour_, minute_, second_ = int(hour), int(minute), int(second)
    if hour_ > 23 or minute_ > 59 or second_ > 59:
        return None
    return midnight + hour_ * 3600 + minute_ * 60 + second_


@lru_cache(maxsize=4096)
def _midnight(text: str) -> int | None:
    """Seconds since the epoch of midnight UTC of ``YYYY-MM-DD`` (validated), or None."""
    match = _DATE.fullmatch(text)
    if match is None:
        return None
    try:
        return calendar.timegm(date(*(int(part) for part in match.groups())).timetuple())
    except ValueError:
        return None
