"""Event Viewer's "Save All Events As..." CSV and text (tab-delimited) exports.

Both start with a header line of five columns in the UI language (``Level,Date and
Time,Source,Event ID,Task Category`` in English), then one record per event with the
description in a sixth column that has no header. A cell is quoted only when it holds
the delimiter, a quote or a line break, so multi-line descriptions span lines inside
quotes. Dates are local time in the exporting culture, without offset: they are read in
the query's ``tz`` (the server's IANA zone), or in UTC with an assumption in the report; an
hour the clocks go back over by the order of the records (:mod:`exlab.events.local_time`).
Headers in a language exlab does not know are read by their place, with a warning
(:func:`exlab.events.cultures.unknown_language`).

These exports carry no channel, computer, record id, qualifiers or insertion strings: those
stay NA and ``data`` is ``{}``. The task number is known only where Event Viewer had no
name for it (``(2)``) or for task 0 (``None``, ``Brak``, ``Keine``, ``Aucun``).
"""

from __future__ import annotations

import csv
import functools
from collections.abc import Iterator
from datetime import datetime

from exlab.cultures import DATE_FORMATS, ORDER_WORDS, DateStyle
from exlab.errors import AssumptionWarning, UnsupportedFormat
from exlab.events.csv_records import csv_records
from exlab.events.cultures import CULTURES, LANGUAGES, Culture, culture_of_header, unknown_language
from exlab.events.local_time import date_style, local_to_utc
from exlab.events.query import EventQuery
from exlab.events.text_stream import Sniffed, decode_head, open_text, sniff_encoding
from exlab.evidence import Evidence
from exlab.limits import iter_capped_lines, skip_long_line
from exlab.parse_report import FileReport
from exlab.text_encoding import refuse_foreign_bom
from exlab.value_ranges import ascii_digits

FORMAT = "event-viewer-text"
KNOWN_LANGUAGES = ", ".join(LANGUAGES)
_LEGACY_CODEPAGES = tuple(dict.fromkeys(c.ansi_codepage for c in CULTURES.values()))


def detect(head: bytes) -> bool:
    """Whether the file starts like an Event Viewer CSV/TXT export (in any language).

    Known headers are recognised at once; an unknown header is claimed when the record
    after it has the export's shape (a date in the second cell, a number in the fourth),
    so that reading it can name the header it did not know.

    >>> detect(b"Level,Date and Time,Source,Event ID,Task Category\\r\\n")
    True
    >>> detect("Nivel\\tFecha y hora\\tOrigen\\tId. del evento\\tCategoría\\r\\n"
    ...        "Información\\t20/03/2025 14:15:04\\tMSExchangeTransport\\t2004\\tSmtpSend\\tx\\r\\n".encode())
    True
    >>> detect(b"date-time,connector-id,session-id\\r\\n")
    False
    """
    layout = _layout(head)
    return layout is not None and (layout[2] is not None or _looks_like_record(head, layout[1]))


def read(evidence: Evidence, query: EventQuery, report: FileReport) -> Iterator[dict]:
    """Yield the export's events as event rows, skipping (and counting) malformed records.

    >>> import io
    >>> import pandas as pd
    >>> from exlab.events.query import EventQuery
    >>> from exlab.evidence import iter_evidence
    >>> from exlab.parse_report import ParseReport
    >>> csv_bytes = ("Level,Date and Time,Source,Event ID,Task Category\\r\\n"
    ...     "Warning,3/20/2025 2:15:04 PM,MSExchangeTransport,12023,(12),\\"Line one,\\r\\nline two\\"\\r\\n")
    >>> ev = next(iter_evidence(io.BytesIO(csv_bytes.encode())))
    >>> report = ParseReport().add_file(ev.name, sha256=ev.sha256, format=FORMAT)
    >>> [row] = read(ev, EventQuery.build(tz="Europe/Warsaw"), report)
    >>> row["level"], row["event_id"], row["task"], row["message"]
    (3, 12023, 12, 'Line one,\\r\\nline two')
    >>> str(pd.Timestamp(row["time_created"], tz="UTC"))
    '2025-03-20 13:15:04+00:00'
    """
    refuse_foreign_bom(evidence.head(4), evidence.name)
    layout = _layout(evidence.head(64 * 1024))
    if layout is None:
        raise UnsupportedFormat(evidence.name, "line 1", "the header of an Event Viewer CSV/TXT export")
    sniffed, delimiter, culture, header = layout
    report.format = "event-viewer-csv" if delimiter == "," else "event-viewer-txt"
    legacy = sniffed.encoding.startswith("cp")
    if culture is None:
        culture = unknown_language(header)
        report.warn(f"column headers in a language exlab does not know ({delimiter.join(header)!r}; it knows "
                    f"{KNOWN_LANGUAGES}): read by their place, which is the same in every language (level, date "
                    "and time, source, event id, task category, description); its level names and its word for "
                    "no task are not known, so levels are left NA, and tasks but those written (N)"
                    + (f"; no BOM and not UTF-8: read in the ANSI code page {sniffed.encoding}, a guess, so letters "
                       "beyond ASCII may be wrong" if legacy else ""), "line 1", AssumptionWarning)
    elif legacy:
        report.note(f"no BOM and not UTF-8: read in the {culture.name} ANSI code page {sniffed.encoding}")
    dates = date_style(_date_samples(evidence, sniffed, delimiter), query, report, where='the "Date and Time" column')
    to_utc = local_to_utc(query, report)
    with open_text(evidence.stream, sniffed) as text:
        lines = iter_capped_lines(text, evidence.name, on_long=functools.partial(skip_long_line, report))
        records = csv.reader(lines, delimiter=delimiter, quotechar='"', strict=False)
        next(records)  # the header, checked above
        yield from _rows(records, culture, dates, to_utc, query, report, evidence.name)


def _date_samples(evidence: Evidence, sniffed: Sniffed, delimiter: str) -> list[str]:
    """Every record's "Date and Time" cell (a first pass: the headers tell the UI language, not the
    order of the dates)."""
    samples = []
    with open_text(evidence.stream, sniffed) as text:
        lines = iter_capped_lines(text, evidence.name, on_long=lambda number: None)   # counted by the second pass
        records = csv.reader(lines, delimiter=delimiter, quotechar='"', strict=False)
        next(records, None)
        while True:
            try:
                cells = next(records)
            except StopIteration:
                break
            except csv.Error:   # counted by the second pass
                continue
            if len(cells) in (5, 6):
                samples.append(cells[1])
    return samples


def _rows(records, culture: Culture, dates: DateStyle, to_utc, query: EventQuery, report: FileReport,
          source: str) -> Iterator[dict]:
    """The rows the query wants, their times read in the order of every dated record of the file
    (:func:`local_to_utc`: what tells the passes through an hour the clocks go back over)."""
    dated = list(_dated_records(records, culture, dates, query, report, source))
    times = to_utc([local for _, local, _ in dated], [line for line, _, _ in dated])
    for (_, _, row), ns in zip(dated, times):
        if row is not None and query.wants_time(ns):
            row["time_created"] = ns
            yield row


def _dated_records(records, culture: Culture, dates: DateStyle, query: EventQuery, report: FileReport,
                   source: str) -> Iterator[tuple[int, datetime, dict | None]]:
    """Line, local time and row (None where the query wants not its event id or provider) of each
    record with a readable date; the others are skipped and counted, unless the query wants them not."""
    unknown_levels: set[str] = set()
    replaced = 0
    # (a file with no readable date names no culture: its headers' culture gives the example)
    example = (culture.date if culture.date.order == dates.order else DATE_FORMATS.get(dates.culture, culture.date)).example
    for line, cells in csv_records(records, source, report):
        if len(cells) not in (5, 6):
            report.skip_record(f"line {line}", f"expected 6 columns (5 named and the description), found {len(cells)}")
            continue
        level_text, when, provider, event_text, task_text = (cells[0].strip(), cells[1], cells[2].strip(),
                                                             cells[3].strip(), cells[4].strip())
        if not ascii_digits(event_text) or int(event_text) > 0xFFFF:
            report.skip_record(f"line {line}", f"event id {event_text!r} is not a number from 0 to 65535")
            continue
        event_id = int(event_text)
        local = dates.read(when)
        if not (query.wants_event_id(event_id) and query.wants_provider(provider)):
            report.records_read += 1
            if local is not None:
                yield line, local, None
            continue
        if local is None:
            report.skip_record(f"line {line}", f"unparsable date {when!r}, expected {ORDER_WORDS[dates.order]} "
                                               f"dates such as {example!r} ({culture.name} headers)")
            continue
        report.records_read += 1
        level = culture.levels.get(level_text)
        if level is None and culture.levels and level_text not in unknown_levels:
            unknown_levels.add(level_text)
            report.note(f"line {line}: level name {level_text!r} is not a {culture.name} level; level left NA")
        message = cells[5] if len(cells) == 6 and cells[5] != "" else None
        if any("\ufffd" in cell for cell in cells):
            replaced += 1
        yield line, local, {
            "time_created": None, "computer": None, "channel": None, "provider": provider,
            "event_id": event_id, "qualifiers": None, "level": level, "task": culture.parse_task(task_text),
            "keywords": None, "record_id": None, "record_number": None, "data": {},
            "message": message, "source": source, "line": line,
        }
    if replaced:
        report.note(f"{replaced:,} record(s) held bytes that are not valid in the file's encoding (shown as U+FFFD)")


def _layout(head: bytes) -> tuple[Sniffed, str, Culture | None, list[str]] | None:
    """Encoding, delimiter, culture (None when unknown) and header cells, or None if no such header."""
    if not head:
        return None
    sniffed = sniff_encoding(head, _LEGACY_CODEPAGES)
    candidates = [sniffed]
    if sniffed.encoding.startswith("cp"):  # not UTF-8: the header tells which code page fits
        candidates = [Sniffed(codepage, 0) for codepage in _LEGACY_CODEPAGES]
    for candidate in candidates:
        text = decode_head(head, candidate)
        first_line = text.split("\n", 1)[0].rstrip("\r")
        delimiter = "\t" if "\t" in first_line else ","
        header = first_line.split(delimiter)
        culture = culture_of_header(header)
        if culture is not None:
            return candidate, delimiter, culture, header
    text = decode_head(head, candidates[0])
    first_line = text.split("\n", 1)[0].rstrip("\r")
    delimiter = "\t" if "\t" in first_line else ","
    header = first_line.split(delimiter)
    if len(header) not in (5, 6) or any(not cell.strip() for cell in header[:5]) or '"' in first_line:
        return None
    return candidates[0], delimiter, None, header


def _looks_like_record(head: bytes, delimiter: str) -> bool:
    """Whether the record after an unknown header has a date second and an event id fourth."""
    lines = decode_head(head, sniff_encoding(head, _LEGACY_CODEPAGES)).splitlines()
    if len(lines) < 2:
        return False
    try:
        cells = next(csv.reader([lines[1]], delimiter=delimiter))
    except (csv.Error, StopIteration):
        return False
    if len(cells) not in (5, 6) or not ascii_digits(cells[3].strip()):
        return False
    return any(culture.date.parse(cells[1]) is not None for culture in CULTURES.values()) or (
        sum(ch.isdigit() for ch in cells[1]) >= 8 and ":" in cells[1])

