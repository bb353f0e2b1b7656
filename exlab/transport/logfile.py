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
import heapq
import io
import itertools
import os
import re
import sys
import threading
from array import array
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import date
from functools import lru_cache, partial
from typing import NamedTuple, Union

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv

from exlab import limits
from exlab.errors import CorruptInput, UnsupportedFormat
from exlab.evidence import Evidence, Sources, expand, map_evidence
from exlab.limits import iter_capped_lines, skip_long_line
from exlab.parse_report import LISTED_LOSSES, FileReport, ParseReport
from exlab.value_ranges import NAT, TIME_LIMITS

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


def ordered_sources(source: Sources, report: ParseReport | None = None) -> list:
    """Paths and streams to read; when all are paths, in rotation order (see :func:`rotation_key`).
    Each zip they come from is added to ``report``, if given, with its own SHA-256 (:func:`expand`).

    >>> import io
    >>> len(ordered_sources([io.BytesIO(b"a"), io.BytesIO(b"b")]))
    2
    """
    items = expand(source, report=report)
    if all(not hasattr(item, "read") for item in items):
        items.sort(key=lambda item: rotation_key(str(item)))
    return items


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


#: a reader's test of a file's records, column by column: ``(row, why)`` for each malformed row
Check = Callable[[Mapping[str, pa.ChunkedArray]], Iterable[tuple[int, str]]]

_ISO_TIME = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,9})?Z$"
_SECONDS = "%Y-%m-%dT%H:%M:%S"
_SCAN_BLOCK = 1 << 20       # bytes of a file looked at at once to find its lines (more, in threads, fragments the heap)
_CSV_BLOCK = 4 << 20        # bytes of records pyarrow parses at once (more when a line is longer)
_NUMBER = re.compile(r"\d+")
_ENCODED = pa.dictionary(pa.int32(), pa.string())
_MOSTLY_REFUSED = 1000     # rows of the wrong width past which, if they are most rows, a file is read line by line
_WORKERS = 2                # log files read at once (hashing, pyarrow and numpy leave the GIL)


class Skips:
    """The records the read of one file skipped, added in any order: the :data:`LISTED_LOSSES` of
    the lowest lines with their place and reason (those the parse report lists), the rest counted.

    >>> skips = Skips(limit=2)
    >>> for line in (9, 3, 7):
    ...     skips.add(line, f"line {line}", "2 fields, expected 9 fields")
    >>> [where for where, _ in skips.listed()], skips.unlisted
    (['line 3', 'line 7'], 1)
    """

    def __init__(self, limit: int = LISTED_LOSSES) -> None:
        self.limit = limit
        self.unlisted = 0
        self._kept: list[tuple[int, int, str, str]] = []   # (-line, -order, where, reason): the highest line on top
        self._order = itertools.count()

    def add(self, line: int, where: str, reason: str) -> None:
        entry = (-line, -next(self._order), where, reason)
        if len(self._kept) < self.limit:
            heapq.heappush(self._kept, entry)
            return
        self.unlisted += 1
        if entry > self._kept[0]:        # a lower line than the highest listed
            heapq.heapreplace(self._kept, entry)

    def listed(self) -> list[tuple[str, str]]:
        """(where, reason) of the listed records, by line."""
        return [(where, reason) for _, _, where, reason in sorted(self._kept, reverse=True)]


class LogTable(NamedTuple):
    """The well-formed records of one log file (of one part of it, under one kind, when its ``#Log-type``
    changes: see :func:`read_log_tables`), as columns: the file, its header, the text of each
    of the kind's fields (NA where empty or not written; Arrow dictionary text for the fields read
    ``encoded``, see :func:`read_log_tables`), the times (ns since the epoch; NaT's
    value where the time is past what a frame holds), the line numbers, and the rows whose time
    was past what a frame holds (read as NaT, to be counted by the frame's reader)."""

    source: str
    header: LogHeader
    values: dict[str, pa.ChunkedArray]
    time: np.ndarray
    line: np.ndarray
    too_far: np.ndarray


class _NotColumnar(Exception):
    """A file whose lines the columnar read cannot vouch for (UTF-16, a header written again in the
    middle, a line past the cap, undecodable text, quotes spanning lines): it is read line by line."""


class _Layout(NamedTuple):
    """Where a file's lines are: its ``#`` lines before the first record (number, bytes), the
    offset and line number of the first record, and the numbers of all non-blank lines from it."""

    header: list[tuple[int, bytes]]
    start: int
    first: int
    records: np.ndarray
    longest: int


def read_log_tables(source: Sources, kind: Kinds, report: ParseReport,
                    check: Check | None = None, *, encoded: Collection[str] = ()) -> Iterator[LogTable]:
    """A :class:`LogTable` of every log file, the files in rotation order, each read once by
    ``pyarrow.csv`` in blocks (by the columns of its own ``#Fields`` line), added to ``report``
    (in the format of the kind its ``#Log-type`` names) and its losses warned once it is read.
    Files on disk are hashed, parsed and checked by :data:`_WORKERS` threads, a file ahead of the
    caller (:func:`exlab.evidence.map_evidence`); the report, the warnings and the tables come in
    the files' order all the same, as one file read after the other gives them.

    Records are checked as :func:`iter_records` checks them: a line that does not split into the
    file's fields, whose time is not an ISO UTC time, or that ``check`` refuses, is skipped and
    counted. A file the columnar read cannot vouch for (UTF-16, a header written again in the
    middle, a line past :data:`exlab.limits.MAX_FIELD`, text that is not UTF-8, quotes that span
    lines) is read line by line by :func:`iter_records`, into the same table. A file whose
    ``#Log-type`` changes partway (logs of two kinds joined into one, ``type SEND*.LOG RECV*.LOG``)
    gives a table per run of records under one kind, each with the header above it; its format
    in ``report`` names every kind, and a note says where the second starts.

    The fields named in ``encoded`` are read as Arrow dictionary columns (each distinct text held
    once per block of the file: a fraction of the memory for logs that repeat themselves); the
    others, and always the first (``date-time``), as Arrow text.

    >>> import io
    >>> kind = LogKind("Demo Log", ("date-time", "data"), "demo")
    >>> data = b"#Log-type: Demo Log\\r\\n#Fields: date-time,data\\r\\n2025-03-20T00:00:00Z,\\"x, y\\"\\r\\nbad\\r\\n"
    >>> report = ParseReport()
    >>> table = next(read_log_tables(io.BytesIO(data), kind, report))
    >>> table.values["data"].to_pylist(), table.time.tolist(), table.line.tolist(), report.records_skipped
    (['x, y'], [1742428800000000000], [3], 1)
    """
    kinds = _kinds(kind)

    def read(evidence: Evidence) -> tuple[FileReport, list[LogTable], Skips]:
        file_report = FileReport(evidence.name, evidence.sha256, kinds[0].format, size=evidence.size)
        header = LogHeader()
        try:
            values, lines, skipped = _read_columnar(evidence, kinds, file_report, header, encoded)
            sections = [_Section(header, values, lines)]
        except _NotColumnar:
            sections, skipped = _read_by_line(evidence, kinds, file_report, encoded)
        tables = [_checked(evidence.name, *section, skipped, check) for section in sections]
        return file_report, tables, skipped

    for _evidence, (file_report, tables, skipped) in map_evidence(ordered_sources(source, report), read,
                                                                  workers=_WORKERS):
        report.files.append(file_report)
        for where, reason in skipped.listed():
            file_report.skip_record(where, reason)
        file_report.skip_unlisted(skipped.unlisted)
        file_report.records_read += sum(len(table.line) for table in tables)
        file_report.warn_losses()
        yield from tables
    pa.default_memory_pool().release_unused()   # what the threads' arenas freed goes back (10 MB at the 10x case)


def _read_columnar(evidence: Evidence, kinds: tuple[LogKind, ...], report: FileReport, header: LogHeader,
                   encoded: Collection[str]) -> tuple[dict[str, pa.ChunkedArray], np.ndarray, Skips]:
    """The file's records by ``pyarrow.csv``: the kind's fields, the line numbers, the lines skipped."""
    stream = evidence.stream
    stream.seek(0)
    if stream.read(2) in _UTF16_BOMS:
        raise _NotColumnar
    layout = _scan(stream)
    header.kind = kinds[0]
    for number, raw in layout.header:
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise _NotColumnar from None
        _header_line(evidence, kinds, header, report, number, (text.lstrip(_BOM) if number == 1 else text).rstrip("\r\n"))
    if header.fields is None:
        where = f"line {layout.first}" if len(layout.records) else "the header"
        expected = f"the header line {header.kind.fields_line!r}" + (" before the first record" if len(layout.records)
                                                                      else "")
        raise CorruptInput(evidence.name, where, expected)
    count = len(header.fields)
    refused = _Refused(layout.records, count, header.fields_at)
    wanted = {header.fields.index(name) for name in header.kind.fields if name in header.fields}
    types = [None if index not in wanted else _ENCODED if name in encoded and name != header.kind.fields[0]
             else pa.string() for index, name in enumerate(header.fields)]     # a field the kind does not know: not read
    if not len(layout.records):
        batches = []
    elif evidence.path is not None:     # read by Arrow's own file, its blocks in Arrow's memory, not Python's
        with pa.OSFile(os.fsencode(evidence.path)) as native:     # bytes: a name that is not UTF-8 too
            batches = _parse(native, layout, types, refused)
    else:
        batches = _parse(stream, layout, types, refused)
    rows = sum(batch.num_rows for batch in batches)
    if rows + len(refused.numbers) != len(layout.records):
        raise _NotColumnar           # pyarrow saw the rows other than line by line (quotes across lines, a lone CR)
    lines = np.delete(layout.records, np.frombuffer(refused.numbers, np.int64) - 1).astype(np.int64)
    kept = [index for index, kind in enumerate(types) if kind is not None]
    columns = {index: pa.chunked_array([batch.column(at) for batch in batches], types[index])
               for at, index in enumerate(kept)}
    return _kind_values(header, columns, rows, encoded), lines, refused.skips


class _Refused:
    """The invalid-row handler of a single-threaded read (the only one in which pyarrow numbers the
    rows): each row of the wrong width it refuses, by its number among the file's non-blank lines,
    and (as :class:`Skips`, by line) why. A row the ``csv`` module would read, or more refused rows
    than read ones (past :data:`_MOSTLY_REFUSED`), stops the read: the file is then read line by line."""

    def __init__(self, records: np.ndarray, count: int, fields_at: int) -> None:
        self.records, self.count, self.fields_at = records, count, fields_at
        self.numbers = array("q")
        self.skips = Skips()

    def __call__(self, row: pa_csv.InvalidRow) -> str:
        if row.number > len(self.records):
            return "error"           # pyarrow sees more rows than lines (a lone CR): the file is read line by line
        self.numbers.append(row.number)
        if len(self.numbers) > _MOSTLY_REFUSED and 2 * len(self.numbers) > row.number:
            return "error"           # most rows refused: the line-by-line read is quicker than a call back per row
        text = row.text
        if not text.strip("\x00 \t\r\n"):
            return "skip"            # a blank or NUL-padded line carries nothing
        values = _split(text.rstrip("\r\n"))
        if values is not None and len(values) == self.count:
            return "error"           # the csv module would read it: let it decide
        line = int(self.records[row.number - 1])
        got = "unbalanced quotes" if values is None else f"{len(values)} fields"
        self.skips.add(line, f"line {line}", f"{got}, expected {self.count} fields (the #Fields line {self.fields_at})")
        return "skip"


def _parse(stream: io.BufferedIOBase | pa.NativeFile, layout: _Layout, types: list[pa.DataType | None],
           refused: _Refused) -> list:
    """The record batches of the file from its first record, read in threads; when a row has the wrong
    width, that read stops and the file is read again in one thread, ``refused`` taking such rows."""
    wrong_width: list[bool] = []

    def stop(_row: pa_csv.InvalidRow) -> str:
        wrong_width.append(True)
        return "error"

    try:
        return _batches(stream, layout, types, stop, threads=True)
    except _NotColumnar:
        if not wrong_width:
            raise
    return _batches(stream, layout, types, refused, threads=False)


def _batches(stream: io.BufferedIOBase | pa.NativeFile, layout: _Layout, types: list[pa.DataType | None],
             on_invalid: Callable[[pa_csv.InvalidRow], str], *, threads: bool) -> list:
    names = [f"f{index}" for index in range(len(types))]      # #Fields may repeat a name; columns go by place
    read = {name: kind for name, kind in zip(names, types) if kind is not None}
    stream.seek(layout.start)
    try:
        with _quiet_undecodable_rows():
            reader = pa_csv.open_csv(
                stream,
                read_options=pa_csv.ReadOptions(column_names=names, use_threads=threads,
                                                block_size=max(_CSV_BLOCK, 2 * layout.longest + 2)),
                parse_options=pa_csv.ParseOptions(invalid_row_handler=on_invalid),
                convert_options=pa_csv.ConvertOptions(column_types=read, include_columns=list(read),
                                                      strings_can_be_null=True, null_values=[""]))
            return list(reader)
    except (pa.ArrowInvalid, UnicodeDecodeError):
        raise _NotColumnar from None


class _QuietRows:
    """How many reads keep undecodable rows quiet at once (files are read in threads), and the
    hook to put back when the last of them is done."""

    lock = threading.Lock()
    reads = 0
    previous: Callable | None = None


@contextmanager
def _quiet_undecodable_rows() -> Iterator[None]:
    """pyarrow decodes a row it refuses as UTF-8 before handing it to the invalid-row handler; a row
    that is not UTF-8 makes it print "Exception ignored ... UnicodeDecodeError" and refuse the block
    (ArrowInvalid), which sends the file to the line-by-line read that counts that row. The print is
    noise on the engineer's terminal: within the block (of any thread reading a file) it is kept
    quiet, other reports still pass; the hook is put back when the last such block ends.

    >>> with _quiet_undecodable_rows():
    ...     sys.unraisablehook is not sys.__unraisablehook__
    True
    """
    with _QuietRows.lock:
        if _QuietRows.reads == 0:
            previous = _QuietRows.previous = sys.unraisablehook

            def hook(unraisable) -> None:
                if not isinstance(unraisable.exc_value, UnicodeDecodeError):
                    previous(unraisable)

            sys.unraisablehook = hook
        _QuietRows.reads += 1
    try:
        yield
    finally:
        with _QuietRows.lock:
            _QuietRows.reads -= 1
            if _QuietRows.reads == 0:
                sys.unraisablehook, _QuietRows.previous = _QuietRows.previous, None


def _scan(stream: io.BufferedIOBase) -> _Layout:
    """Find the file's lines in blocks (numpy over the bytes): the header lines, the first record,
    the numbers of the non-blank lines from it; a ``#`` line after a record, or a line past the
    cap, is left to the line-by-line read."""
    stream.seek(0)
    header: list[tuple[int, bytes]] = []
    numbers: list[np.ndarray] = []
    start = first = None
    offset = done = longest = 0
    carry = b""
    while True:
        chunk = stream.read(_SCAN_BLOCK)
        buffer = carry + chunk
        if not chunk and not buffer:
            break
        data = np.frombuffer(buffer, np.uint8)
        ends = np.flatnonzero(data == 10) if chunk else np.array([len(buffer)])   # the last line may lack its end
        if not len(ends):
            if len(buffer) > limits.MAX_FIELD + 2:
                raise _NotColumnar
            carry = buffer
            continue
        starts = np.concatenate(([0], ends[:-1] + 1))
        lengths = ends - starts
        longest = max(longest, int(lengths.max()))
        if longest > limits.MAX_FIELD + 1:
            raise _NotColumnar
        firsts = data[starts]                 # every start lies before the buffer's last line end
        if offset == 0 and buffer.startswith(b"\xef\xbb\xbf"):
            firsts[0] = data[3] if len(data) > 3 else 0
        ended_cr = (lengths > 0) & (data[np.maximum(ends - 1, 0)] == 13)
        blank = (lengths - ended_cr) == 0
        hashed = firsts == ord("#")
        numbered = np.arange(done + 1, done + 1 + len(ends))
        records_from = 0
        if start is None:
            body = np.flatnonzero(~(blank | hashed))
            records_from = int(body[0]) if len(body) else len(ends)
            header += [(int(numbered[i]), buffer[starts[i]:ends[i]]) for i in np.flatnonzero(hashed[:records_from])]
            if len(body):
                start, first = offset + int(starts[records_from]), int(numbered[records_from])
        if start is not None:
            if hashed[records_from:].any():
                raise _NotColumnar
            numbers.append(numbered[records_from:][~blank[records_from:]])
        if not chunk:
            break
        carry = buffer[ends[-1] + 1:]
        offset += int(ends[-1]) + 1
        done += len(ends)
    records = np.concatenate(numbers) if numbers else np.zeros(0, np.int64)
    return _Layout(header, start if start is not None else offset, first or 0, records, longest)


class _Section(NamedTuple):
    """Records of one file under one kind of header, as columns: what :func:`_checked` takes."""

    header: LogHeader
    values: dict[str, pa.ChunkedArray]
    lines: np.ndarray


def _read_by_line(evidence: Evidence, kinds: tuple[LogKind, ...], report: FileReport,
                  encoded: Collection[str]) -> tuple[list[_Section], Skips]:
    """The file's records by :func:`iter_records`, as the columnar read gives them: one section per run
    of records under one kind (a file whose ``#Log-type`` changes, such as send and receive logs joined
    into one, has several; each keeps the kind of the header above it)."""
    scratch = FileReport(report.file, report.sha256, report.format)
    header = LogHeader()
    runs: list[tuple[LogHeader, list[tuple[int, int, list[str]]]]] = []
    for record in iter_records(evidence, kinds, scratch, None, header):
        if not runs or runs[-1][0].kind is not header.kind:
            runs.append((replace(header, other=dict(header.other)), []))
        runs[-1][1].append(record)
    report.format = scratch.format
    for note in scratch.warnings:
        if note not in report.warnings:
            report.note(note)
    skipped = Skips()
    for loss in scratch.losses:
        skipped.add(int(found.group()) if (found := _NUMBER.search(loss.where)) else 0, loss.where, loss.reason)
    skipped.unlisted += scratch.records_skipped - len(scratch.losses)
    return [_section(run_header, records, encoded) for run_header, records in runs or [(header, [])]], skipped


def _section(header: LogHeader, records: list[tuple[int, int, list[str]]], encoded: Collection[str]) -> _Section:
    """Records of :func:`iter_records` (all of ``header``'s kind) as a section's columns."""
    values = {name: pa.chunked_array([pa.array([record[2][index] or None for record in records], pa.string())])
              for index, name in enumerate(header.kind.fields)}
    for name in set(encoded) & set(header.kind.fields[1:]):
        values[name] = pc.dictionary_encode(values[name])
    return _Section(header, values, np.array([record[0] for record in records], np.int64))


def _kind_values(header: LogHeader, columns: Mapping[int, pa.ChunkedArray], rows: int,
                 encoded: Collection[str]) -> dict[str, pa.ChunkedArray]:
    """The file's columns (by their place in its #Fields line) by the kind's field names; a field the
    file does not write is all ``""``."""
    fields = header.fields
    return {name: columns[fields.index(name)] if name in fields
            else pa.chunked_array([pa.nulls(rows, _ENCODED if name in encoded else pa.string())])
            for name in header.kind.fields}


def _checked(source: str, header: LogHeader, values: dict[str, pa.ChunkedArray], lines: np.ndarray,
             skipped: Skips, check: Check | None) -> LogTable:
    """The table of the records whose time parses and that ``check`` accepts; the others added to ``skipped``."""
    first = header.kind.fields[0]
    times, bad, too_far = parse_times(values[first])
    keep = ~bad
    bad_rows = np.flatnonzero(bad)
    for row in bad_rows[:skipped.limit]:     # a bad time past them follows as many others: never listed
        line = int(lines[row])
        text = values[first][int(row)].as_py() or ""
        skipped.add(line, f"line {line}", f"{first} {text[:40]!r} is not an ISO UTC time")
    skipped.unlisted += max(0, len(bad_rows) - skipped.limit)
    for row, why in check(values) if check is not None else ():
        if keep[row]:
            keep[row] = False
            skipped.add(int(lines[row]), f"line {int(lines[row])}", why)
    if not keep.all():
        mask = pa.array(keep)
        values = {name: column.filter(mask) for name, column in values.items()}
        times, lines, too_far = times[keep], lines[keep], too_far[keep]
    return LogTable(source, header, values, times, lines, np.flatnonzero(too_far))


def parse_times(text: pa.ChunkedArray | pa.Array) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Column-wise :func:`parse_time`: the times in ns (NaT's value where none), which texts are not
    ISO UTC times, and which are but lie past what a frame holds (year 1600, 3025: read as NaT).

    >>> ns, bad, too_far = parse_times(pa.array(["2025-03-20T00:00:04.412Z", "2025-02-30T00:00:00Z",
    ...                                          "3025-01-01T00:00:00Z"]))
    >>> int(ns[0]), bad.tolist(), too_far.tolist()
    (1742428804412000000, [False, True, False], [False, False, True])
    """
    shaped = _numpy(pc.fill_null(pc.match_substring_regex(text, _ISO_TIME), False))
    try:      # Arrow's ISO parser refuses what parse_time refuses, and what lies past nanoseconds
        stamps = pc.cast(text if shaped.all() else text.filter(pa.array(shaped)), pa.timestamp("ns", "UTC"))
    except pa.ArrowInvalid:
        return _checked_times(text, shaped)
    times = np.full(len(text), NAT, dtype=np.int64)
    times[shaped] = _numpy(pc.cast(stamps, pa.int64()))
    return times, ~shaped, np.zeros(len(text), dtype=bool)


def _checked_times(text: pa.ChunkedArray | pa.Array, shaped: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`parse_times` of a column where some time is not a date or lies past nanoseconds."""
    head = pc.utf8_slice_codeunits(text, 0, 19)
    stamp = pc.strptime(head, format=_SECONDS, unit="s", error_is_null=True)
    good = pc.and_kleene(pc.equal(pc.strftime(stamp, format=_SECONDS), head), pc.invert(pc.starts_with(text, "0000")))
    good = shaped & _numpy(pc.fill_null(good, False))
    seconds = _numpy(pc.fill_null(pc.cast(stamp, pa.int64()), 0))
    fraction = pc.utf8_rpad(pc.if_else(good, pc.utf8_slice_codeunits(text, 20, -1), ""), width=9, padding="0")
    fraction = _numpy(pc.cast(fraction, pa.int64()))
    low, high = TIME_LIMITS
    safe = good & (seconds > low // 1_000_000_000 + 1) & (seconds < high // 1_000_000_000)
    times = np.where(safe, seconds * 1_000_000_000 + fraction, NAT)
    too_far = good & ~safe
    for row in np.flatnonzero(too_far):
        exact = int(seconds[row]) * 1_000_000_000 + int(fraction[row])
        if low <= exact <= high:
            times[row], too_far[row] = exact, False
    return times.astype(np.int64), ~good, too_far


def _numpy(values: pa.ChunkedArray | pa.Array) -> np.ndarray:
    return values.to_numpy() if isinstance(values, pa.ChunkedArray) else values.to_numpy(zero_copy_only=False)


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
                yield number, line.rstrip("\n").rstrip("\r").lstrip(_BOM)
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
        yield number, line.lstrip(_BOM).rstrip("\r\n")   # logs joined into one file carry a BOM per part


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
        if header.log_type is None:
            report.format = kind.format
        elif kind.format not in report.format.split(", "):
            _note_second_kind(report, header, kind, number)
        header.log_type, header.kind = value, kind
        if header.fields is not None:
            _map_fields(evidence, header, report, line)
    elif key in ("software", "version", "date"):
        setattr(header, key, value)
    else:
        header.other[name.strip()] = value


def _note_second_kind(report: FileReport, header: LogHeader, kind: LogKind, number: int) -> None:
    """A file whose ``#Log-type`` changes (logs of two kinds joined into one): its format names both
    kinds, and a note says where the second starts."""
    report.format += f", {kind.format}"
    report.note(f"line {number}: #Log-type changes from {header.kind.log_type} to {kind.log_type} (logs joined "
                "into one file); each record is read as the kind of the #Log-type above it")


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
