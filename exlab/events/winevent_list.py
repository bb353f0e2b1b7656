"""``Get-WinEvent ... | Format-List`` and ``Get-EventLog ... | Format-List``: the event text engineers paste most.

Both cmdlets' objects shown with ``fl`` (their default list view) or ``fl *`` (every member), saved with
``>`` / Out-File (Windows PowerShell 5.1: UTF-16 LE with a BOM), or inside a PowerShell transcript or a
copy of the console (:mod:`exlab.transcript`: only the output of those commands is read, every line at
its place). The blocks are read by :mod:`exlab.format_list`; property names are English whatever
the culture.

- Get-WinEvent's EventLogRecord: the default view shows TimeCreated, ProviderName, Id and Message;
  ``fl *`` adds Qualifiers, Level, Task, Keywords, RecordId, LogName, MachineName and the rest, mapped
  as every export of those records is (:mod:`exlab.events.winevent`). Properties are shown as their type
  name (``{System.Diagnostics.Eventing.Reader.EventProperty, ...}``) or not at all: the insertion strings
  of events in exlab's catalog are taken back out of the message, as for Export-Csv.
- Get-EventLog's EventLogEntry: Index, EntryType, InstanceId (qualifiers and event id), Message,
  CategoryNumber, Source, TimeGenerated, and with ``fl *`` EventID and MachineName
  (:func:`exlab.events.clixml.entry_row`). ``ReplacementStrings`` (``{a, b, c}``) are ``%1``, ``%2``, ...:
  a list Format-List cut after ``$FormatEnumerationLimit`` items (``{a, b, c, d...}``) gives those
  shown, noted; for an event of the catalog whose list does not split into as many items as it has
  insertion strings (an item holding ``, ``) they are taken out of the message instead, noted. The
  binary Data (a list of byte values, cut too) is left out.

TimeCreated and TimeGenerated are local time in the server's culture without offset: their day/month
order and the hour the clocks go back over are decided as for the other local-time exports
(:mod:`exlab.events.local_time`; both cmdlets list the newest record first), in the query's ``tz``
(UTC assumed, and said, without it). Neither view names the log of Get-EventLog (nor the default view
of Get-WinEvent's): the channel is the log the command names in a transcript (``-LogName``,
``Get-EventLog Application``, ``@{LogName='Application'}``), else NA as in other exports that lack it.
A block with no event id or no time is skipped and counted (``event N (line L)``).

>>> import io
>>> from exlab.events import read_events
>>> text = ("\\r\\n\\r\\nTimeCreated  : 20.03.2025 14:15:04\\r\\nProviderName : MSExchangeTransport\\r\\n"
...         "Id           : 12016\\r\\nMessage      : The STARTTLS certificate for the FQDN mail.contoso.com has "
...         "expired.\\r\\n\\r\\n\\r\\n")
>>> frame = read_events(io.BytesIO(text.encode("utf-16")), tz="Europe/Warsaw")
>>> str(frame.loc[0, "time_created"]), int(frame.loc[0, "event_id"]), frame.loc[0, "provider"]
('2025-03-20 13:15:04+00:00', 12016, 'MSExchangeTransport')
>>> frame.loc[0, "data"], frame.attrs["parse_report"].files[0].format
({'%1': 'mail.contoso.com'}, 'winevent-list')
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from functools import partial

from exlab.cultures import DateStyle
from exlab.errors import UnsupportedFormat
from exlab.events.clixml import entry_row
from exlab.events.local_time import date_style, local_time, local_to_utc
from exlab.events.query import EventQuery
from exlab.events.text_stream import decode_head, open_text, sniff_encoding
from exlab.events.winevent import record_row, with_message_data
from exlab.evidence import Evidence
from exlab.format_list import CONSOLE_WIDTH, Block, Layout, property_blocks, property_line
from exlab.limits import iter_capped_lines, skip_long_line
from exlab.parse_report import FileReport
from exlab.transcript import session_of, session_text, taken_outputs

__all__ = ["FORMAT", "detect", "is_event_list", "read"]

FORMAT = "winevent-list"
EVENTLOG_FORMAT = "eventlog-list"
EXPECTED = "Get-WinEvent or Get-EventLog output shown with Format-List (fl or fl *)"
TIMES = {"TimeCreated": "Get-WinEvent", "TimeGenerated": "Get-EventLog"}
EVENT_IDS = ("Id", "InstanceId", "EventID")
_HEAD_LINES = 400
# the log a command names: -LogName X, @{LogName='X'}, or Get-EventLog's first argument (one log, not a list)
_LOG_NAMED = re.compile(r"""(?:-LogName(?::|\s+)|\bLogName\s*=\s*|\bGet-EventLog\s+(?!-))"""
                        r"""(?:'(?P<single>[^']+)'|"(?P<double>[^"]+)"|(?P<bare>[\w/.-]+))(?![\w/.-]|\s*,)""",
                        re.IGNORECASE)


def detect(head: bytes) -> bool:
    """Whether the file opens with Format-List of events (its first object has a TimeCreated or
    TimeGenerated and an Id, InstanceId or EventID), or is a PowerShell session's text (a transcript,
    the console copied), whose events output :func:`read` takes if it holds any.

    >>> detect("\\r\\n\\r\\nTimeCreated  : 3/20/2025 2:15:04 PM\\r\\nProviderName : MSExchangeTransport\\r\\n"
    ...        "Id           : 2004\\r\\n".encode("utf-16"))
    True
    >>> detect(b"Thumbprint : 3F2A9C01D4E8B7766A5C0B1E92D4F0A8C3B71E55\\r\\nServices   : IMAP, POP, IIS, SMTP\\r\\n")
    False
    """
    text = decode_head(head, sniff_encoding(head))
    return session_of(text) is not None or is_event_list(text)


def is_event_list(text: str) -> bool:
    """Whether ``text`` (a file's start, or a command's output) opens with Format-List of an event.

    >>> is_event_list("\\nIndex              : 7\\nEntryType          : Error\\nInstanceId         : 3221499630\\n"
    ...               "TimeGenerated      : 20.03.2025 14:15:04\\n")
    True
    >>> is_event_list("Name : Outbound to Office 365\\nId   : Outbound to Office 365\\n")
    False
    """
    lines = text.lstrip("\ufeff").splitlines()[:_HEAD_LINES]
    first = next((line for line in lines if line.strip()), "")
    if property_line(first) is None:
        return False
    block = next(property_blocks(enumerate(lines, 1), []), None)
    return block is not None and any(name in block.properties for name in TIMES) and \
        any(name in block.properties for name in EVENT_IDS)


def read(evidence: Evidence, query: EventQuery, report: FileReport) -> Iterator[dict]:
    """Yield one event row per block; a block that cannot be read is skipped and counted.

    >>> import io
    >>> from exlab.evidence import open_evidence
    >>> shown = ("\\r\\n\\r\\nIndex              : 7\\r\\nEntryType          : Error\\r\\n"
    ...          "InstanceId         : 3221499630\\r\\nReplacementStrings : {mail.contoso.com, Internet}\\r\\n"
    ...          "Source             : MSExchangeTransport\\r\\nTimeGenerated      : 3/20/2025 1:15:04 PM\\r\\n\\r\\n")
    >>> [row] = read(open_evidence(io.BytesIO(shown.encode("utf-16"))), EventQuery.build(tz="UTC"),
    ...              FileReport("fl.txt", "", FORMAT))
    >>> row["event_id"], row["qualifiers"], row["level"], row["record_id"], row["data"]
    (12014, 49156, 2, 7, {'%1': 'mail.contoso.com', '%2': 'Internet'})
    """
    parts = _parts(evidence, report)
    blocks = [block for _, found in parts for block in found]
    layout = Layout.of(blocks, CONSOLE_WIDTH)
    if blocks and all(TIMES.get(_time_name(block)) == "Get-EventLog" for block in blocks):
        report.format = EVENTLOG_FORMAT
    dates = date_style([layout.value(block.properties[name]) for block in blocks if (name := _time_name(block))],
                       query, report, where="the TimeCreated and TimeGenerated values")
    to_utc = local_to_utc(query, report)
    rows, number, strings_lost = [], 0, _StringsLost()
    for channel, found in parts:
        dated = []
        for block in found:
            number += 1
            try:
                local, row = _event(block, layout, dates, channel, evidence.name, strings_lost)
            except ValueError as err:
                report.skip_record(f"event {number} (line {block.line})", str(err))
                continue
            report.records_read += 1
            dated.append((block.line, local, row))
        for (_, _, row), time_created in zip(dated, to_utc([d[1] for d in dated], [d[0] for d in dated])):
            row["time_created"] = time_created
            if query.wants(row):
                rows.append(row)
    yield from with_message_data(rows, report, export="Format-List",
                                 why="Format-List shows no values of Properties, nor ReplacementStrings that "
                                     "cannot be told apart")
    strings_lost.report_to(report)


def _parts(evidence: Evidence, report: FileReport) -> list[tuple[str | None, list[Block]]]:
    """The blocks of the file, or of each events output of a PowerShell session's text, with the log
    its command names; the lines no block takes are noted."""
    stray: list[int] = []
    text = session_text(evidence)
    if text is None:
        sniffed = sniff_encoding(evidence.head(4096), ("cp1250",), source=evidence.name)
        if not is_event_list(decode_head(evidence.head(64 * 1024), sniffed)):
            raise UnsupportedFormat(evidence.name, "the first lines", EXPECTED)
        if sniffed.encoding.startswith("cp"):
            report.note(f"no BOM and not UTF-8: read in the ANSI code page {sniffed.encoding}, a guess")
        with open_text(evidence.stream, sniffed) as stream:
            lines = iter_capped_lines(stream, evidence.name, on_long=partial(skip_long_line, report))
            parts = [(None, list(property_blocks(enumerate((line.rstrip("\r\n") for line in lines), 1), stray)))]
    else:
        lines = text.splitlines()
        outputs = [(output, lines[output.first - 1:output.last]) for output in
                   taken_outputs(text, is_event_list, report, "events")]
        if not outputs:
            raise UnsupportedFormat(evidence.name, "every command's output", EXPECTED)
        parts = [(log_named(output.command), list(property_blocks(enumerate(shown, output.first), stray)))
                 for output, shown in outputs]
    if stray:
        report.note(f"{len(stray):,} line(s) neither a property nor its continuation, passed over (the first: "
                    f"line {stray[0]})")
    return parts


def log_named(command: str) -> str | None:
    """The event log a command reads, when it names one (``-LogName``, ``@{LogName=...}``,
    ``Get-EventLog Application``), else None.

    >>> log_named("Get-WinEvent -FilterHashtable @{LogName='Application'; Id=2004} | fl")
    'Application'
    >>> log_named("Get-EventLog Application -Source MSExchangeTransport | fl *"), log_named("Get-WinEvent -LogName A,B")
    ('Application', None)
    """
    found = _LOG_NAMED.search(command)
    return next((value for value in found.group("single", "double", "bare") if value), None) if found else None


def _time_name(block: Block) -> str | None:
    return next((name for name in TIMES if name in block.properties), None)


@dataclass
class _StringsLost:
    """How many records of a file showed their ReplacementStrings cut, or not to be split: said once it is read."""

    cut: int = 0
    unsplit: int = 0

    def report_to(self, report: FileReport) -> None:
        if self.cut:
            report.note(f"{self.cut:,} record(s): Format-List cut ReplacementStrings after its first items "
                        "($FormatEnumerationLimit): data holds those shown")
        if self.unsplit:
            report.note(f"{self.unsplit:,} record(s): ReplacementStrings did not split into the event's insertion "
                        "strings (an item holding ', '): taken out of the message instead")


def _event(block: Block, layout: Layout, dates: DateStyle, channel: str | None, source: str,
           strings_lost: _StringsLost) -> tuple[datetime, dict]:
    """The naive local time and the row (its time still None; ``data`` None where the message is to give
    it) of one block; ValueError says why it cannot be read."""
    members = {name: layout.value(prop) or None for name, prop in block.properties.items()}
    name = _time_name(block)
    if name is None or members[name] is None:
        raise ValueError("no TimeCreated or TimeGenerated")
    if not any(members.get(key) is not None for key in EVENT_IDS):
        raise ValueError("no Id, InstanceId or EventID")
    local = local_time(members[name], dates, name)
    if TIMES[name] == "Get-WinEvent":
        row = record_row(members, time_created=None, data=None, source=source)
    else:
        strings, row = members.get("ReplacementStrings"), entry_row({**members, "ReplacementStrings": None},
                                                                      source=source)
        row["data"] = _insertion_strings(strings, row, strings_lost)
    row["channel"] = row["channel"] or channel
    row["line"] = block.line
    return local, row


def _insertion_strings(shown: str | None, row: dict, strings_lost: _StringsLost) -> dict[str, str] | None:
    """``%1``..``%n`` of ReplacementStrings as Format-List shows it (``{a, b, c}``), or None when the message
    is to give them: the list is missing, or the event is in exlab's catalog and the list does not split
    into as many items as it has insertion strings."""
    from exlab.transport.catalog import insertion_strings, lookup    # here: exlab.transport imports pandas
    from exlab.transport.settings import is_cut_list

    if shown is None or not (shown.startswith("{") and shown.endswith("}")):
        return None
    cut = is_cut_list(shown)
    inner = shown[1:-1].removesuffix("...").removesuffix("\u2026") if cut else shown[1:-1]
    items = inner.split(", ") if inner else []
    entry = lookup(row["provider"], row["event_id"])
    if not cut and entry is not None and entry.fields and len(items) != len(insertion_strings(entry, {})):
        strings_lost.unsplit += 1
        return None
    strings_lost.cut += cut
    return {f"%{index}": item for index, item in enumerate(items, 1)}
