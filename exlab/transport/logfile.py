"""The CSV log files Exchange's transport writes (protocol logs, message tracking logs).

Each file starts with ``#`` header lines (``#Software``, ``#Version``, ``#Log-type``,
``#Date``, ``#Fields``) and continues with one CSV record per line (quotes doubled,
CRLF). This module checks the header against what a reader expects and streams the
records; the readers turn them into frames. A line that does not split into the
expected fields is skipped, counted in the parse report and warned once per file;
a file without the expected ``#Fields`` line is refused with an ExlabError.

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
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache

from exlab.errors import CorruptInput, UnsupportedFormat
from exlab.evidence import Evidence, Sources, expand, iter_evidence
from exlab.parse_report import FileReport, ParseReport

_BOM = "\ufeff"
_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")
_HEADER_LIMIT = 32          # header lines a file may carry before its #Fields line
_DATE = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})")
_NATURAL = re.compile(r"(\d+)")


@dataclass(frozen=True)
class LogKind:
    """What a reader expects: the ``#Log-type`` value, the ``#Fields`` list and a format name."""

    log_type: str
    fields: tuple[str, ...]
    format: str

    @property
    def fields_line(self) -> str:
        return "#Fields: " + ",".join(self.fields)


@dataclass
class LogHeader:
    """The ``#`` lines of one file, as written."""

    software: str | None = None
    version: str | None = None
    log_type: str | None = None
    date: str | None = None
    fields: tuple[str, ...] | None = None
    other: dict[str, str] = field(default_factory=dict)


def detect(head: bytes, kind: LogKind) -> bool:
    """Whether the first bytes of a file are a log of this kind (by its ``#Log-type`` line).

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
            return value.strip().lower() == kind.log_type.lower()
    return False


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


def iter_log_lines(source: Sources, kind: LogKind, report: ParseReport,
                   check: Callable[[list[str]], str | None] | None = None) -> Iterator[tuple[str, int, int, list[str]]]:
    """``(file name, line number, time ns, values)`` of every well-formed record of every log file,
    the files in rotation order, each added to ``report`` and its losses warned once it is read
    (the records as :func:`iter_records` checks them).

    >>> import io
    >>> from exlab.parse_report import ParseReport
    >>> kind = LogKind("Demo Log", ("date-time", "data"), "demo")
    >>> report = ParseReport()
    >>> data = b"#Log-type: Demo Log\\r\\n#Fields: date-time,data\\r\\n2025-03-20T00:00:00Z,x\\r\\n"
    >>> list(iter_log_lines(io.BytesIO(data), kind, report)), report.files[0].format
    ([('<stream>', 3, 1742428800000000000, ['2025-03-20T00:00:00Z', 'x'])], 'demo')
    """
    for evidence in iter_evidence(ordered_sources(source)):
        file_report = report.add_file(evidence.name, sha256=evidence.sha256, format=kind.format, size=evidence.size)
        for line, time, values in iter_records(evidence, kind, file_report, check):
            yield evidence.name, line, time, values
        file_report.warn_losses()


def iter_records(evidence: Evidence, kind: LogKind, report: FileReport,
                 check: Callable[[list[str]], str | None] | None = None) -> Iterator[tuple[int, int, list[str]]]:
    """Check the header and yield ``(line number, time ns, values)`` for every well-formed record.

    The first field of every Exchange log is ``date-time`` (ISO UTC); a record whose time
    does not parse, whose field count is wrong, or that ``check`` (optional: returns why
    the values are malformed, or None) refuses, is skipped and counted in ``report``.

    Raises UnsupportedFormat when ``#Log-type`` or ``#Fields`` differ from ``kind``,
    CorruptInput when the file has no ``#Fields`` line before its first record.

    >>> import io
    >>> from exlab.evidence import open_evidence
    >>> from exlab.parse_report import ParseReport
    >>> kind = LogKind("Demo Log", ("date-time", "data"), "demo")
    >>> report = ParseReport().add_file("demo", sha256="", format="demo")
    >>> data = b"#Log-type: Demo Log\\r\\n#Fields: date-time,data\\r\\n2025-03-20T00:00:00Z,x\\r\\n"
    >>> next(iter_records(open_evidence(io.BytesIO(data)), kind, report))
    (3, 1742428800000000000, ['2025-03-20T00:00:00Z', 'x'])
    """
    header = LogHeader()
    expected = len(kind.fields)
    for number, line in _text_lines(evidence, report):
        if not line.strip("\x00 \t"):
            continue
        if line.startswith("#"):
            _header_line(evidence, kind, header, number, line)
            continue
        if header.fields is None:
            raise CorruptInput(evidence.name, f"line {number}", f"the header line {kind.fields_line!r} "
                               "before the first record")
        values = _split(line)
        if values is None or len(values) != expected:
            got = "unbalanced quotes" if values is None else f"{len(values)} fields"
            report.skip_record(f"line {number}", f"{got}, expected {expected} fields")
            continue
        time = parse_time(values[0])
        problem = (f"{kind.fields[0]} {values[0][:40]!r} is not an ISO UTC time" if time is None
                   else check(values) if check is not None else None)
        if problem is not None:
            report.skip_record(f"line {number}", problem)
            continue
        report.records_read += 1
        yield number, time, values
    if header.fields is None:
        raise CorruptInput(evidence.name, "the header", f"the header line {kind.fields_line!r}")


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
    if stream.read(2) in _UTF16_BOMS:
        stream.seek(0)
        for number, line in enumerate(stream.read().decode("utf-16", errors="replace").split("\n"), 1):
            if "\ufffd" in line:
                report.skip_record(f"line {number}", "not UTF-16 text")
                continue
            yield number, line.rstrip("\r")
        return
    stream.seek(0)
    for number, raw in enumerate(stream, 1):
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError as err:
            report.skip_record(f"line {number}", f"not UTF-8 text ({err.reason} at byte {err.start})")
            continue
        yield number, (line.lstrip(_BOM) if number == 1 else line).rstrip("\r\n")


def _header_line(evidence: Evidence, kind: LogKind, header: LogHeader, number: int, line: str) -> None:
    name, _, value = line[1:].partition(":")
    key, value = name.strip().lower(), value.strip()
    if key == "fields":
        fields = tuple(part.strip() for part in value.split(","))
        if fields != kind.fields:
            raise UnsupportedFormat(evidence.name, f"line {number}", kind.fields_line,
                                    detail=f"found {line[:200]!r}")
        header.fields = fields
    elif key == "log-type":
        if value.lower() != kind.log_type.lower():
            raise UnsupportedFormat(evidence.name, f"line {number}", f"#Log-type: {kind.log_type}",
                                    detail=f"found {line[:200]!r}")
        header.log_type = value
    elif key in ("software", "version", "date"):
        setattr(header, key, value)
    else:
        header.other[name.strip()] = value


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
