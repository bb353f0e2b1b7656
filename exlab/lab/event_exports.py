"""Event exports other than .evtx, written the way Windows writes them, for the lab's cases.

Rows are events-frame row dicts (``time_created`` int ns UTC, ``provider``, ``event_id``,
``qualifiers``, ``level``, ``task``, ``keywords``, ``record_id``, ``computer``, ``channel``,
``data`` with ``%1``... for unnamed values, and ``message``: the rendered text, which the
caller provides). Every writer takes a path or a binary stream, returns the number of
events written, and writes the same bytes for the same arguments. Events are written in
the order given (Event Viewer writes the order of its view: newest first by default).

Shapes and encodings (what the readers in ``exlab.events`` expect, and why):

- :func:`write_event_viewer_xml`: "Save All Events As... XML": ``<?xml version="1.0"
  encoding="utf-8" standalone="yes"?>``, CRLF, then ``<Events>`` with the events back to
  back, each with ``RenderingInfo Culture=...`` (message, level, task, opcode, channel,
  provider and keyword names in the culture). UTF-8 with a BOM by default (.NET's
  ``Encoding.UTF8`` writes one); ``encoding="utf-16"`` gives UTF-16 LE with BOM.
- :func:`write_wevtutil_xml`: ``wevtutil qe LOG /f:xml`` redirected to a file: one
  ``<Event>`` per line, no root, no declaration, UTF-8 without BOM; ``rendered=True`` is
  ``/f:RenderedXml`` (with RenderingInfo).
- :func:`write_event_viewer_csv` / :func:`write_event_viewer_txt`: the five headers in the
  culture's language, then Level, local date and time (culture's short date and long
  time, in ``tz``), Source, Event ID, Task Category and the description; a cell is quoted
  only when it holds the delimiter, a quote or a line break; CRLF. The encoding does not
  follow the UI language: Event Viewer is a Unicode program and writes UTF-8 without a BOM
  whatever the culture (public exports show UTF-8 bytes read as ANSI, ``MicrosoftÂ®``), so
  that is the default for all four cultures; ``encoding="utf-8-sig"`` is the file after a
  colleague re-saved it in Excel/Notepad, ``"utf-16"`` after Notepad's "Unicode"/Windows
  PowerShell's ``Out-File``, ``"cp1250"``/``"cp1252"`` a legacy tool's ANSI code page (characters
  the code page lacks become ``?``, as Windows' conversion writes them).
- :func:`write_eventlog_clixml`: ``Get-EventLog ... | Export-Clixml`` from Windows
  PowerShell 5.1: UTF-16 LE with BOM, CRLF, two-space indentation, EventLogEntry objects
  with ``TN``/``TNRef`` type lists, RefIds, enum ``EntryType``, ``_xHHHH_`` escapes.
- :func:`write_winevent_clixml`: ``Get-WinEvent ... | Export-Clixml``: the same document
  shape with EventLogRecord objects (as the real CSS-Exchange exports), ``TimeCreated`` with
  the server's offset and its fraction as XmlConvert writes it (trailing zeros dropped),
  ``Properties`` a list of EventProperty ``Value`` objects, ``Message`` under ``<MS>``.
- :func:`write_winevent_csv`: ``Get-WinEvent ... | Export-Csv``: the record's 27 members, every
  cell quoted, an empty cell unquoted for nothing (null), CRLF. Windows PowerShell 5.1 writes
  ``#TYPE System.Diagnostics.Eventing.Reader.EventLogRecord`` first and ASCII (``?`` for the
  rest); PowerShell 7 no ``#TYPE`` line and UTF-8 without a BOM. Each value is its
  ``ToString()``: TimeCreated local in the culture's format, lists by their type name.
- :func:`write_winevent_json`: ``Get-WinEvent ... | ConvertTo-Json > file``: Windows PowerShell
  5.1's layout (``"name":  value``, nested lists and objects indented from their bracket,
  ``\\/Date(ms)\\/``, ``<>&'`` escaped, UTF-16 LE with BOM) or PowerShell 7's (two-space
  indent, ISO 8601 times with offset, UTF-8); one record is an object, more a list.
- :func:`write_winevent_list` / :func:`write_eventlog_list`: ``Get-WinEvent ... | fl`` and
  ``Get-EventLog ... | fl`` (their default list views, or ``fl *``) redirected to a file from Windows
  PowerShell 5.1: UTF-16 LE with BOM, CRLF, ``Name : value`` padded to the longest name, values
  wrapped at the console's width less one (Out-File's rule; 120 columns by default) between words in
  the cultures PowerShell wraps words in, at the width itself in the others; a message's lines kept,
  each indented; dates as TimeCreated's ``ToString()`` in the culture; lists ``{a, b, c, d...}`` cut
  after four items ($FormatEnumerationLimit).

>>> import io
>>> from exlab.events import read_events
>>> row = {"time_created": 1742476504000000000, "computer": "EX01.contoso.com",
...        "channel": "Application", "provider": "MSExchangeTransport", "event_id": 2004,
...        "qualifiers": 16388, "level": 4, "task": 2, "keywords": "0x80000000000000",
...        "record_id": 88, "data": {"%1": "Outbound to Office 365"}, "message": "Send connector ..."}
>>> out = io.BytesIO()
>>> write_event_viewer_csv(out, [row], culture="pl-PL", tz="Europe/Warsaw",
...                        task_names={("MSExchangeTransport", 2): "SmtpSend"})
1
>>> out.getvalue().decode("utf-8").splitlines()[1]
'Informacje,20.03.2025 14:15:04,MSExchangeTransport,2004,SmtpSend,Send connector ...'
"""

from __future__ import annotations

import base64
import io
import json
import os
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime, timezone
from typing import Any, BinaryIO
from xml.sax.saxutils import escape
from zoneinfo import ZoneInfo

from exlab.events.clixml import ENTRY_TYPE, ENTRY_TYPE_NAMES, PS_NS, encode_string
from exlab.cultures import DATE_FORMATS, DateFormat
from exlab.events.cultures import CULTURES, Culture
from exlab.events.system_time import format_system_time
from exlab.events.winevent import PROPERTY_TYPE, RECORD_TYPE
from exlab.events.xml_export import EVENT_NS
from exlab.lab.transport_logs import enumeration, format_list

Target = str | os.PathLike | BinaryIO
Row = Mapping[str, Any]
TaskNames = Mapping[tuple[str, int], str]

CLASSIC_KEYWORDS = "0x80000000000000"
# RenderingInfo words per culture: the opcode 0 name, the "Classic" keyword.
_RENDERING_WORDS = {
    "en-US": ("Info", "Classic"),
    "pl-PL": ("Informacje", "Klasyczne"),
    "de-DE": ("Info", "Klassisch"),
    "fr-FR": ("Informations", "Classique"),
}
# encoding option -> Python codec; "utf-16" is little-endian with a BOM, written explicitly so the
# bytes do not depend on the machine's byte order.
_ENCODINGS = {"utf-8": "utf-8", "utf-8-sig": "utf-8-sig", "utf-16": "utf-16-le", "cp1250": "cp1250",
              "cp1252": "cp1252", "ascii": "ascii"}
EDITIONS = ("5.1", "7")   # Windows PowerShell 5.1, PowerShell 7


def write_event_viewer_xml(target: Target, rows: Iterable[Row], *, culture: str = "en-US",
                           rendering: bool = True, task_names: TaskNames | None = None,
                           encoding: str = "utf-8-sig") -> int:
    """Write Event Viewer's "Save as XML" export (``<Events>`` root), with RenderingInfo by default.

    >>> out = io.BytesIO()
    >>> write_event_viewer_xml(out, [{"time_created": 0, "provider": "P", "event_id": 1,
    ...                               "data": {}, "message": "Hi"}], culture="de-DE")
    1
    >>> out.getvalue()[:3] == b"\\xef\\xbb\\xbf" and b"<RenderingInfo Culture='de-DE'>" in out.getvalue()
    True
    """
    _check_encoding(encoding, ("utf-8", "utf-8-sig", "utf-16"))
    declared = "utf-16" if encoding == "utf-16" else "utf-8"
    events = (_event_xml(row, _culture(culture) if rendering else None, task_names) for row in rows)
    with _text_target(target, encoding) as out:
        out.write(f'<?xml version="1.0" encoding="{declared}" standalone="yes"?>\r\n<Events>')
        count = _write_all(out, events, "")
        out.write("</Events>\r\n")
    return count


def write_wevtutil_xml(target: Target, rows: Iterable[Row], *, rendered: bool = False,
                       culture: str = "en-US", task_names: TaskNames | None = None) -> int:
    """Write ``wevtutil qe ... /f:xml`` output (``rendered=True``: ``/f:RenderedXml``).

    >>> out = io.BytesIO()
    >>> write_wevtutil_xml(out, [{"time_created": 0, "provider": "P", "event_id": 1, "data": {}}])
    1
    >>> out.getvalue().startswith(b"<Event xmlns='http://schemas.microsoft.com/win/2004/08/events/event'>")
    True
    """
    events = (_event_xml(row, _culture(culture) if rendered else None, task_names) for row in rows)
    with _text_target(target, "utf-8") as out:
        return _write_all(out, events, "\r\n")


def write_event_viewer_csv(target: Target, rows: Iterable[Row], *, culture: str = "en-US", tz: str = "UTC",
                           task_names: TaskNames | None = None, encoding: str = "utf-8") -> int:
    """Write Event Viewer's "Save All Events As... CSV" export in a culture, local times in ``tz``.

    >>> out = io.BytesIO()
    >>> write_event_viewer_csv(out, [{"time_created": 0, "provider": "P", "event_id": 1, "level": 2,
    ...                               "task": 0, "message": "a, b"}], culture="fr-FR", tz="Europe/Paris")
    1
    >>> out.getvalue().decode().split("\\r\\n")[1]
    'Erreur,01/01/1970 01:00:00,P,1,Aucun,"a, b"'
    """
    return _write_viewer_text(target, rows, ",", _culture(culture), tz, task_names, encoding)


def write_event_viewer_txt(target: Target, rows: Iterable[Row], *, culture: str = "en-US", tz: str = "UTC",
                           task_names: TaskNames | None = None, encoding: str = "utf-8") -> int:
    """Write Event Viewer's "Save All Events As... Text (Tab delimited)" export.

    >>> out = io.BytesIO()
    >>> write_event_viewer_txt(out, [{"time_created": 0, "provider": "P", "event_id": 1, "level": 4,
    ...                               "message": "two\\r\\nlines"}])
    1
    >>> out.getvalue().decode().splitlines()[1]
    'Information\\t1/1/1970 12:00:00 AM\\tP\\t1\\tNone\\t"two'
    """
    return _write_viewer_text(target, rows, "\t", _culture(culture), tz, task_names, encoding)


def write_eventlog_clixml(target: Target, rows: Iterable[Row], *, tz: str = "UTC",
                          task_names: TaskNames | None = None, encoding: str = "utf-16") -> int:
    """Write ``Get-EventLog ... | Export-Clixml`` (Windows PowerShell 5.1: UTF-16 LE with BOM).

    ``encoding="utf-8"`` is PowerShell 7's output. Levels map to EntryType: 1 and 2 Error,
    3 Warning, anything else Information (classic logs know no other).

    >>> out = io.BytesIO()
    >>> write_eventlog_clixml(out, [{"time_created": 0, "provider": "P", "event_id": 2004,
    ...                              "qualifiers": 16388, "data": {"%1": "a"}}])
    1
    >>> '<I64 N="InstanceId">1074005972</I64>' in out.getvalue().decode("utf-16")
    True
    """
    _check_encoding(encoding, ("utf-16", "utf-8"))
    zone = ZoneInfo(tz)
    refs = _RefIds()
    with _text_target(target, encoding) as out:
        out.write(f'<Objs Version="1.1.0.1" xmlns="{PS_NS}">\r\n')
        count = _write_all(out, (_entry_clixml(row, zone, refs, task_names) for row in rows), "")
        out.write("</Objs>")
    return count


def write_winevent_clixml(target: Target, rows: Iterable[Row], *, tz: str = "UTC", culture: str = "en-US",
                          task_names: TaskNames | None = None, encoding: str = "utf-16") -> int:
    """Write ``Get-WinEvent ... | Export-Clixml`` (Windows PowerShell 5.1: UTF-16 LE with BOM).

    ``encoding="utf-8"`` is PowerShell 7's output. Get-WinEvent hands out the newest record
    first: give the rows in that order. ``LevelDisplayName`` is in the UI language ``culture``
    (the message comes rendered in the rows). Members a row does not hold (Version, Opcode,
    ProcessId, ThreadId, ...) are written ``<Nil />``.

    >>> out = io.BytesIO()
    >>> write_winevent_clixml(out, [{"time_created": 1_748_834_163_120_000_000, "provider": "MSExchangeTransport",
    ...     "event_id": 2004, "qualifiers": 16388, "level": 4, "data": {"%1": "a"}}], tz="America/Chicago")
    1
    >>> '<DT N="TimeCreated">2025-06-01T22:16:03.12-05:00</DT>' in out.getvalue().decode("utf-16")
    True
    """
    _check_encoding(encoding, ("utf-16", "utf-8"))
    zone, ui = ZoneInfo(tz), _culture(culture)
    refs = _RefIds()
    with _text_target(target, encoding) as out:
        out.write(f'<Objs Version="1.1.0.1" xmlns="{PS_NS}">\r\n')
        count = _write_all(out, (_record_clixml(row, zone, ui, refs, task_names) for row in rows), "")
        out.write("</Objs>")
    return count


def write_winevent_csv(target: Target, rows: Iterable[Row], *, edition: str = "5.1", culture: str = "en-US",
                       tz: str = "UTC", task_names: TaskNames | None = None) -> int:
    """Write ``Get-WinEvent ... | Export-Csv file`` from Windows PowerShell 5.1 or PowerShell 7.

    >>> out = io.BytesIO()
    >>> write_winevent_csv(out, [{"time_created": 0, "provider": "P", "event_id": 1, "level": 4,
    ...                           "message": "Zażółć", "data": {}}], tz="Europe/Warsaw")
    1
    >>> lines = out.getvalue().decode("ascii").split("\\r\\n")
    >>> lines[0]
    '#TYPE System.Diagnostics.Eventing.Reader.EventLogRecord'
    >>> lines[2].split(",")[:5], lines[2].split(",")[16]
    (['"Za????"', '"1"', '', '', '"4"'], '"1/1/1970 1:00:00 AM"')
    """
    _check_edition(edition)
    date_format, zone = _date_format(culture), ZoneInfo(tz)

    def lines() -> Iterator[str]:
        for row in rows:
            members = _record_members(row, task_names)
            members.update(TimeCreated=date_format.format(_wall_time(row, zone)), MatchedQueryIds="System.UInt32[]",
                           Bookmark=_BOOKMARK, KeywordsDisplayNames=_KEYWORD_NAMES_TEXT, Properties=_PROPERTIES_TEXT)
            yield ",".join("" if v is None else '"' + str(v).replace('"', '""') + '"'
                           for v in members.values()) + "\r\n"

    with _text_target(target, "ascii" if edition == "5.1" else "utf-8") as out:
        if edition == "5.1":
            out.write(f"#TYPE {RECORD_TYPE}\r\n")
        out.write(",".join(f'"{name}"' for name in _MEMBERS) + "\r\n")
        return _write_all(out, lines(), "")


def write_winevent_json(target: Target, rows: Iterable[Row], *, edition: str = "5.1", tz: str = "UTC",
                        task_names: TaskNames | None = None) -> int:
    """Write ``Get-WinEvent ... | ConvertTo-Json > file`` from Windows PowerShell 5.1 or PowerShell 7.

    >>> out = io.BytesIO()
    >>> write_winevent_json(out, [{"time_created": 1_000_000, "provider": "P", "event_id": 1, "data": {"%1": "<a>"}}])
    1
    >>> text = out.getvalue().decode("utf-16")
    >>> text.splitlines()[1], '"TimeCreated":  "\\\\/Date(1)\\\\/"' in text
    ('    "Message":  null,', True)
    >>> '"Value":  "\\\\u003ca\\\\u003e"' in text
    True
    """
    _check_edition(edition)
    zone = ZoneInfo(tz)
    records = []
    for row in rows:
        members = _record_members(row, task_names)
        ns = int(row["time_created"])
        members.update(TimeCreated=f"/Date({ns // 1_000_000})/" if edition == "5.1" else _xml_time(ns, zone),
                       MatchedQueryIds=[], Bookmark={},
                       KeywordsDisplayNames=list(members["KeywordsDisplayNames"]),
                       Properties=[{"Value": value} for value in members["Properties"]])
        records.append(members)
    document = records[0] if len(records) == 1 else records
    with _text_target(target, "utf-16" if edition == "5.1" else "utf-8") as out:
        out.write((_json51(document, 0) if edition == "5.1" else _json7(document, 0)) + "\r\n")
    return len(records)


def write_winevent_list(target: Target, rows: Iterable[Row], *, all_properties: bool = False, culture: str = "en-US",
                        tz: str = "UTC", width: int = 120, task_names: TaskNames | None = None,
                        encoding: str = "utf-16") -> int:
    """Write ``Get-WinEvent ... | Format-List > file`` (its default view: TimeCreated, ProviderName, Id,
    Message) or ``| Format-List *`` (``all_properties``: every member, Message first) from a Windows PowerShell
    5.1 console ``width`` wide. Get-WinEvent hands out the newest record first: give the rows in that order.

    >>> out = io.BytesIO()
    >>> write_winevent_list(out, [{"time_created": 0, "provider": "P", "event_id": 1, "message": "Hi"}],
    ...                     tz="Europe/Warsaw", culture="de-DE")
    1
    >>> out.getvalue().decode("utf-16").split("\\r\\n")[2:6]
    ['TimeCreated  : 01.01.1970 01:00:00', 'ProviderName : P', 'Id           : 1', 'Message      : Hi']
    """
    date_format, zone = _date_format(culture), ZoneInfo(tz)
    names = _MEMBERS if all_properties else _WINEVENT_LIST_VIEW
    objects = []
    for row in rows:
        members = _record_members(row, task_names)
        members.update(TimeCreated=date_format.format(_wall_time(row, zone)), MatchedQueryIds=enumeration([]),
                       Bookmark=_BOOKMARK, KeywordsDisplayNames=enumeration(members["KeywordsDisplayNames"]),
                       Properties=enumeration([PROPERTY_TYPE] * len(members["Properties"])))
        objects.append([(name, members[name]) for name in names])
    return _write_list(target, objects, width, culture, encoding)


def write_eventlog_list(target: Target, rows: Iterable[Row], *, all_properties: bool = False, culture: str = "en-US",
                        tz: str = "UTC", width: int = 120, task_names: TaskNames | None = None,
                        encoding: str = "utf-16") -> int:
    """Write ``Get-EventLog ... | Format-List > file`` (its default view: Index, EntryType, InstanceId, Message,
    Category, CategoryNumber, ReplacementStrings, Source, TimeGenerated, TimeWritten, UserName) or
    ``| Format-List *`` (``all_properties``: PowerShell's EventID first, then MachineName, Data and the rest)
    as Windows PowerShell 5.1 prints it. Lists show their first four items, then ``...``
    ($FormatEnumerationLimit).

    >>> out = io.BytesIO()
    >>> write_eventlog_list(out, [{"time_created": 0, "provider": "P", "event_id": 2004, "qualifiers": 16388,
    ...     "data": {"%1": "a", "%2": "b"}, "message": "Hi"}])
    1
    >>> [line for line in out.getvalue().decode("utf-16").split("\\r\\n") if "I" in line[:1] or "R" in line[:1]]
    ['Index              :', 'InstanceId         : 1074005972', 'ReplacementStrings : {a, b}']
    """
    date_format, zone = _date_format(culture), ZoneInfo(tz)
    names = _EVENTLOG_MEMBERS if all_properties else _EVENTLOG_LIST_VIEW
    objects = []
    for row in rows:
        entry = _entry_members(row, zone, task_names)
        when = date_format.format(entry["TimeGenerated"])
        entry.update(EventID=int(row["event_id"]), EntryType=ENTRY_TYPE_NAMES[entry["EntryType"]],
                     Data=enumeration([str(byte) for byte in entry["Data"]]),
                     ReplacementStrings=enumeration(entry["ReplacementStrings"]), TimeGenerated=when,
                     TimeWritten=when, UserName=None, Site=None, Container=None)
        objects.append([(name, entry[name]) for name in names])
    return _write_list(target, objects, width, culture, encoding)


# -- Event XML --------------------------------------------------------------------------------


def _event_xml(row: Row, culture: Culture | None, task_names: TaskNames | None) -> str:
    """One ``<Event>`` as wevtapi renders it: single-quoted attributes, no whitespace."""
    provider = row.get("provider") or ""
    qualifiers = row.get("qualifiers")
    parts = [f"<Event xmlns='{EVENT_NS}'><System><Provider Name='{_attr(provider)}'/>",
             "<EventID>" if qualifiers is None else f"<EventID Qualifiers='{int(qualifiers)}'>",
             f"{int(row['event_id'])}</EventID><Version>0</Version>"]
    for tag, key in (("Level", "level"), ("Task", "task")):
        if row.get(key) is not None:
            parts.append(f"<{tag}>{int(row[key])}</{tag}>")
    parts.append("<Opcode>0</Opcode>")
    if row.get("keywords") is not None:
        parts.append(f"<Keywords>{escape(row['keywords'])}</Keywords>")
    if row.get("time_created") is not None:
        parts.append(f"<TimeCreated SystemTime='{format_system_time(int(row['time_created']))}'/>")
    if row.get("record_id") is not None:
        parts.append(f"<EventRecordID>{int(row['record_id'])}</EventRecordID>")
    parts.append("<Correlation/><Execution ProcessID='0' ThreadID='0'/>")
    for tag, key in (("Channel", "channel"), ("Computer", "computer")):
        if row.get(key) is not None:
            parts.append(f"<{tag}>{escape(row[key])}</{tag}>")
    parts.append("<Security/></System>")
    parts.append(_event_data_xml(row.get("data") or {}))
    if culture is not None:
        parts.append(_rendering_xml(row, culture, task_names))
    parts.append("</Event>")
    return "".join(parts)


def _event_data_xml(data: Mapping[str, str]) -> str:
    values, binary = [], None
    for position, (key, value) in enumerate(data.items(), 1):
        if key == "Binary":
            binary = value
            continue
        if key.startswith("%"):
            if key != f"%{position}":
                raise ValueError(f"data key {key!r} is at position {position}: unnamed values must be "
                                 f"%1, %2, ... in order")
            values.append(f"<Data>{escape(value)}</Data>")
        else:
            values.append(f"<Data Name='{_attr(key)}'>{escape(value)}</Data>")
    if binary is not None:
        values.append(f"<Binary>{escape(binary)}</Binary>")
    return "<EventData>" + "".join(values) + "</EventData>"


def _rendering_xml(row: Row, culture: Culture, task_names: TaskNames | None) -> str:
    opcode, classic = _RENDERING_WORDS[culture.language]
    message = row.get("message")
    task = _task_name(row, culture, task_names, unnamed="")
    keywords = f"<Keyword>{classic}</Keyword>" if row.get("keywords") == CLASSIC_KEYWORDS else ""
    return "".join((
        f"<RenderingInfo Culture='{culture.name}'>",
        "" if message is None else f"<Message>{escape(message)}</Message>",
        f"<Level>{culture.level_name(row.get('level'))}</Level><Task>{escape(task)}</Task>",
        f"<Opcode>{opcode}</Opcode><Channel>{escape(row.get('channel') or '')}</Channel>",
        f"<Provider>{escape(row.get('provider') or '')}</Provider><Keywords>{keywords}</Keywords>",
        "</RenderingInfo>",
    ))


def _attr(value: str) -> str:
    return escape(value, {"'": "&apos;"})


# -- CSV / TXT --------------------------------------------------------------------------------


def _write_viewer_text(target: Target, rows: Iterable[Row], delimiter: str, culture: Culture, tz: str,
                       task_names: TaskNames | None, encoding: str) -> int:
    _check_encoding(encoding, tuple(_ENCODINGS))
    zone = ZoneInfo(tz)

    def lines() -> Iterator[str]:
        for row in rows:
            cells = (culture.level_name(row.get("level")),
                     culture.date.format(_wall_time(row, zone)),
                     row.get("provider") or "", str(int(row["event_id"])),
                     _task_name(row, culture, task_names, unnamed=None), row.get("message") or "")
            yield delimiter.join(_quoted(cell, delimiter) for cell in cells) + "\r\n"

    with _text_target(target, encoding) as out:
        out.write(delimiter.join(culture.headers) + "\r\n")
        return _write_all(out, lines(), "")


def _quoted(cell: str, delimiter: str) -> str:
    if delimiter in cell or '"' in cell or "\r" in cell or "\n" in cell:
        return '"' + cell.replace('"', '""') + '"'
    return cell


def _task_name(row: Row, culture: Culture, task_names: TaskNames | None, *, unnamed: str | None) -> str:
    """The task category name: from ``task_names``, else Event Viewer's ``(N)`` (or ``unnamed``)."""
    task = row.get("task")
    if task is not None and task_names and (row.get("provider"), int(task)) in task_names:
        return task_names[(row.get("provider"), int(task))]
    if unnamed is not None:
        return unnamed
    return culture.task_name(task)


# -- CliXml -----------------------------------------------------------------------------------


class _RefIds:
    """Object and type-name RefIds as PowerShell hands them out: counters in order of first use."""

    def __init__(self) -> None:
        self.objects = 0
        self.types: dict[tuple[str, ...], int] = {}

    def obj(self) -> int:
        self.objects += 1
        return self.objects - 1

    def type_names(self, names: tuple[str, ...], indent: str) -> str:
        if names in self.types:
            return f'{indent}<TNRef RefId="{self.types[names]}" />\r\n'
        self.types[names] = len(self.types)
        inner = "".join(f"{indent}  <T>{name}</T>\r\n" for name in names)
        return f'{indent}<TN RefId="{self.types[names]}">\r\n{inner}{indent}</TN>\r\n'


_ENTRY_TYPES = (ENTRY_TYPE, "System.ComponentModel.Component", "System.MarshalByRefObject", "System.Object")
_ENUM_TYPES = ("System.Diagnostics.EventLogEntryType", "System.Enum", "System.ValueType", "System.Object")
_STRINGS_TYPES = ("System.String[]", "System.Array", "System.Object")


def _entry_members(row: Row, zone: ZoneInfo, task_names: TaskNames | None) -> dict[str, Any]:
    """An EventLogEntry's members as Python values (EntryType its number, TimeGenerated an aware local time)."""
    event_id, qualifiers = int(row["event_id"]), int(row.get("qualifiers") or 0)
    level = row.get("level")
    task = int(row.get("task") or 0)
    data = dict(row.get("data") or {})
    return {"InstanceId": (qualifiers << 16) | event_id, "EntryType": 1 if level in (1, 2) else 2 if level == 3 else 4,
            "Category": (task_names or {}).get((row.get("provider"), task), f"({task})"), "CategoryNumber": task,
            "Data": bytes.fromhex(data.pop("Binary", "")), "ReplacementStrings": list(data.values()),
            "TimeGenerated": _wall_time(row, zone), "Index": row.get("record_id"), "MachineName": row.get("computer"),
            "Message": row.get("message"), "Source": row.get("provider")}


def _entry_clixml(row: Row, zone: ZoneInfo, refs: _RefIds, task_names: TaskNames | None) -> str:
    entry = _entry_members(row, zone, task_names)
    instance_id, entry_type = entry["InstanceId"], entry["EntryType"]
    stamp = entry["TimeGenerated"].isoformat()
    pad = "      "
    lines = [f'  <Obj RefId="{refs.obj()}">\r\n', refs.type_names(_ENTRY_TYPES, "    "),
             f"    <ToString>{ENTRY_TYPE}</ToString>\r\n", "    <Props>\r\n",
             _prop("S", "MachineName", entry["MachineName"]),
             _prop("BA", "Data", base64.b64encode(entry["Data"]).decode()),
             _prop("I32", "Index", entry["Index"]),
             _prop("S", "Category", entry["Category"]),
             _prop("I16", "CategoryNumber", entry["CategoryNumber"]),
             _prop("I32", "EventID", instance_id & 0x3FFFFFFF),
             f'{pad}<Obj N="EntryType" RefId="{refs.obj()}">\r\n', refs.type_names(_ENUM_TYPES, pad + "  "),
             f"{pad}  <ToString>{ENTRY_TYPE_NAMES[entry_type]}</ToString>\r\n{pad}  <I32>{entry_type}</I32>\r\n",
             f"{pad}</Obj>\r\n",
             _prop("S", "Message", entry["Message"]),
             _prop("S", "Source", entry["Source"]),
             f'{pad}<Obj N="ReplacementStrings" RefId="{refs.obj()}">\r\n',
             refs.type_names(_STRINGS_TYPES, pad + "  "),
             f"{pad}  <LST>\r\n",
             *(f"{pad}    <S>{escape(encode_string(str(value)))}</S>\r\n" for value in entry["ReplacementStrings"]),
             f"{pad}  </LST>\r\n{pad}</Obj>\r\n",
             _prop("I64", "InstanceId", instance_id),
             _prop("DT", "TimeGenerated", stamp),
             _prop("DT", "TimeWritten", stamp),
             _prop("S", "UserName", None), _prop("S", "Site", None), _prop("S", "Container", None),
             "    </Props>\r\n  </Obj>\r\n"]
    return "".join(lines)


_RECORD_TYPES = (RECORD_TYPE, "System.Diagnostics.Eventing.Reader.EventRecord", "System.Object")
_QUERY_IDS_TYPES = ("System.UInt32[]", "System.Array", "System.Object")
_BOOKMARK = "System.Diagnostics.Eventing.Reader.EventBookmark"
_KEYWORD_NAMES_TYPES = ("System.Collections.ObjectModel.ReadOnlyCollection`1[[System.String, mscorlib, "
                        "Version=4.0.0.0, Culture=neutral, PublicKeyToken=b77a5c561934e089]]", "System.Object")
_PROPERTIES_TYPES = (f"System.Collections.Generic.List`1[[{PROPERTY_TYPE}, System.Core, Version=4.0.0.0, "
                     "Culture=neutral, PublicKeyToken=b77a5c561934e089]]", "System.Object")


def _record_clixml(row: Row, zone: ZoneInfo, ui: Culture, refs: _RefIds, task_names: TaskNames | None) -> str:
    pad = "      "
    data = dict(row.get("data") or {})
    binary = data.pop("Binary", None)
    values = [("S", escape(encode_string(str(v)))) for v in data.values()]
    if binary is not None:
        values.append(("BA", base64.b64encode(bytes.fromhex(binary)).decode()))
    task = row.get("task")
    keywords = row.get("keywords")
    lines = [f'  <Obj RefId="{refs.obj()}">\r\n', refs.type_names(_RECORD_TYPES, "    "),
             f"    <ToString>{RECORD_TYPE}</ToString>\r\n", "    <Props>\r\n",
             _prop("I32", "Id", row["event_id"]), _prop("By", "Version", row.get("version")),
             _prop("I32", "Qualifiers", row.get("qualifiers")), _prop("By", "Level", row.get("level")),
             _prop("I32", "Task", task), _prop("I16", "Opcode", row.get("opcode")),
             _prop("I64", "Keywords", None if keywords is None else _signed64(int(keywords, 16))),
             _prop("I64", "RecordId", row.get("record_id")), _prop("S", "ProviderName", row.get("provider")),
             _prop("G", "ProviderId", row.get("provider_id")), _prop("S", "LogName", row.get("channel")),
             _prop("I32", "ProcessId", row.get("process_id")), _prop("I32", "ThreadId", row.get("thread_id")),
             _prop("S", "MachineName", row.get("computer")), _prop("S", "UserId", None),
             _prop("DT", "TimeCreated", _xml_time(int(row["time_created"]), zone)),
             _prop("G", "ActivityId", None), _prop("G", "RelatedActivityId", None),
             _prop("S", "ContainerLog", row.get("channel")),
             _clixml_list("MatchedQueryIds", _QUERY_IDS_TYPES, list, refs),
             f'{pad}<Obj N="Bookmark" RefId="{refs.obj()}">\r\n',
             refs.type_names((_BOOKMARK, "System.Object"), pad + "  "),
             f"{pad}  <ToString>{_BOOKMARK}</ToString>\r\n{pad}</Obj>\r\n",
             _prop("S", "LevelDisplayName", ui.level_name(row.get("level"))),
             _prop("S", "OpcodeDisplayName", None),
             _prop("S", "TaskDisplayName", (task_names or {}).get((row.get("provider"), task))),
             _clixml_list("KeywordsDisplayNames", _KEYWORD_NAMES_TYPES,
                          lambda: ["<S>Classic</S>"] if keywords == CLASSIC_KEYWORDS else [], refs),
             _clixml_list("Properties", _PROPERTIES_TYPES,
                          lambda: [_event_property(tag, text, refs) for tag, text in values], refs),
             "    </Props>\r\n    <MS>\r\n", _prop("S", "Message", row.get("message")),
             "    </MS>\r\n  </Obj>\r\n"]
    return "".join(lines)


_MEMBERS = ("Message", "Id", "Version", "Qualifiers", "Level", "Task", "Opcode", "Keywords", "RecordId",
            "ProviderName", "ProviderId", "LogName", "ProcessId", "ThreadId", "MachineName", "UserId", "TimeCreated",
            "ActivityId", "RelatedActivityId", "ContainerLog", "MatchedQueryIds", "Bookmark", "LevelDisplayName",
            "OpcodeDisplayName", "TaskDisplayName", "KeywordsDisplayNames", "Properties")
#: what Format-List shows of an EventLogRecord (Get-WinEvent's default list view)
_WINEVENT_LIST_VIEW = ("TimeCreated", "ProviderName", "Id", "Message")
#: what Format-List shows of an EventLogEntry (Get-EventLog's default list view), and Format-List *
_EVENTLOG_LIST_VIEW = ("Index", "EntryType", "InstanceId", "Message", "Category", "CategoryNumber",
                       "ReplacementStrings", "Source", "TimeGenerated", "TimeWritten", "UserName")
_EVENTLOG_MEMBERS = ("EventID", "MachineName", "Data", "Index", "Category", "CategoryNumber", "EntryType", "Message",
                     "Source", "ReplacementStrings", "InstanceId", "TimeGenerated", "TimeWritten", "UserName", "Site",
                     "Container")
_KEYWORD_NAMES_TEXT = "System.Collections.ObjectModel.ReadOnlyCollection`1[System.String]"
_PROPERTIES_TEXT = f"System.Collections.Generic.List`1[{PROPERTY_TYPE}]"


def _record_members(row: Row, task_names: TaskNames | None) -> dict[str, Any]:
    """An EventLogRecord's members in PowerShell's order (``Message`` first: it is an extended
    member), as Python values; TimeCreated and the lists are left for each format to write."""
    data = dict(row.get("data") or {})
    binary = data.pop("Binary", None)
    keywords = row.get("keywords")
    members = dict.fromkeys(_MEMBERS)
    members.update(
        Message=row.get("message"), Id=int(row["event_id"]), Version=row.get("version"),
        Qualifiers=row.get("qualifiers"), Level=row.get("level"), Task=row.get("task"), Opcode=row.get("opcode"),
        Keywords=None if keywords is None else _signed64(int(keywords, 16)), RecordId=row.get("record_id"),
        ProviderName=row.get("provider"), ProviderId=row.get("provider_id"), LogName=row.get("channel"),
        ProcessId=row.get("process_id"), ThreadId=row.get("thread_id"), MachineName=row.get("computer"),
        ContainerLog=row.get("channel"), LevelDisplayName=CULTURES["en-US"].level_name(row.get("level")),
        TaskDisplayName=(task_names or {}).get((row.get("provider"), row.get("task"))),
        KeywordsDisplayNames=("Classic",) if keywords == CLASSIC_KEYWORDS else (),
        Properties=[*data.values(), *(() if binary is None else ("System.Byte[]",))])
    return members


def _json51(value: Any, column: int) -> str:
    """Windows PowerShell 5.1's ConvertTo-Json layout of a value that starts at ``column``: members
    ``"name":  value`` four spaces in from their bracket, a nested list or object's own items four
    in from where it opened, an empty one with a blank line between its brackets."""
    if isinstance(value, (dict, list)):
        opening, closing = ("{", "}") if isinstance(value, dict) else ("[", "]")
        if not value:
            return f"{opening}\r\n\r\n{' ' * column}{closing}"
        inner = " " * (column + 4)
        if isinstance(value, dict):
            items = [f"{inner}{_js51(k)}:  {_json51(v, column + 4 + len(_js51(k)) + 3)}" for k, v in value.items()]
        else:
            items = [f"{inner}{_json51(v, column + 4)}" for v in value]
        return opening + "\r\n" + ",\r\n".join(items) + f"\r\n{' ' * column}{closing}"
    if isinstance(value, str):
        return _js51(value)
    return json.dumps(value)


def _js51(text: str) -> str:
    """A string as .NET's JavaScriptSerializer writes it: ``<>&'`` and control characters as
    ``\\uXXXX``, and ``/`` escaped inside ``/Date(...)/``."""
    if _MS_DATE.fullmatch(text):
        return '"' + text.replace("/", "\\/") + '"'
    out = []
    for char in text:
        if char in _JS_SHORT:
            out.append(_JS_SHORT[char])
        elif char in "<>&'" or ord(char) < 0x20:
            out.append(f"\\u{ord(char):04x}")
        else:
            out.append(char)
    return '"' + "".join(out) + '"'


_JS_SHORT = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t"}
_MS_DATE = re.compile(r"/Date\(-?\d+\)/")


def _json7(value: Any, column: int) -> str:
    """PowerShell 7's ConvertTo-Json layout (Newtonsoft.Json, indented by two, ``[]`` and ``{}`` when empty)."""
    if isinstance(value, (dict, list)) and value:
        opening, closing = ("{", "}") if isinstance(value, dict) else ("[", "]")
        inner = " " * (column + 2)
        if isinstance(value, dict):
            items = [f"{inner}{json.dumps(k, ensure_ascii=False)}: {_json7(v, column + 2)}" for k, v in value.items()]
        else:
            items = [f"{inner}{_json7(v, column + 2)}" for v in value]
        return opening + "\r\n" + ",\r\n".join(items) + f"\r\n{' ' * column}{closing}"
    return json.dumps(value, ensure_ascii=False)


def _clixml_list(name: str, types: tuple[str, ...], items: Callable[[], list[str]], refs: _RefIds) -> str:
    """A member holding a list (``<LST />`` when empty), its items made after its own RefIds and
    written one per line."""
    pad = "      "
    head = f'{pad}<Obj N="{name}" RefId="{refs.obj()}">\r\n' + refs.type_names(types, pad + "  ")
    items = items()
    if not items:
        return f"{head}{pad}  <LST />\r\n{pad}</Obj>\r\n"
    inner = "".join(f"{pad}    {item}\r\n" for item in items)
    return f"{head}{pad}  <LST>\r\n{inner}{pad}  </LST>\r\n{pad}</Obj>\r\n"


def _event_property(tag: str, text: str, refs: _RefIds) -> str:
    """One EventProperty object, indented to sit in the Properties list (its first line unindented)."""
    pad = " " * 10
    return "".join((f'<Obj RefId="{refs.obj()}">\r\n', refs.type_names((PROPERTY_TYPE, "System.Object"), pad + "  "),
                    f"{pad}  <ToString>{PROPERTY_TYPE}</ToString>\r\n{pad}  <Props>\r\n",
                    f'{pad}    <{tag} N="Value">{text}</{tag}>\r\n{pad}  </Props>\r\n{pad}</Obj>'))


def _signed64(value: int) -> int:
    """A 64-bit pattern as .NET's Int64 holds it (Keywords are written signed)."""
    return value - (1 << 64) if value >= 1 << 63 else value


def _xml_time(ns: int, zone: ZoneInfo) -> str:
    """A time as Export-Clixml writes a DateTime (XmlConvert, round-trip kind): local wall time with
    its offset, the 100-ns fraction without trailing zeros (none when zero).

    >>> _xml_time(1_748_855_763_120_000_000, ZoneInfo("America/Chicago")), _xml_time(0, ZoneInfo("UTC"))
    ('2025-06-02T04:16:03.12-05:00', '1970-01-01T00:00:00+00:00')
    """
    seconds, rest = divmod(ns, 1_000_000_000)
    wall = datetime.fromtimestamp(seconds, tz=timezone.utc).astimezone(zone)
    fraction = f"{rest // 100:07d}".rstrip("0")
    stamp = wall.replace(tzinfo=None).isoformat()
    return f"{stamp}{'.' + fraction if fraction else ''}{wall.isoformat()[19:]}"


def _prop(tag: str, name: str, value: Any) -> str:
    if value is None:
        return f'      <Nil N="{name}" />\r\n'
    text = escape(encode_string(value)) if tag == "S" else str(value)
    return f'      <{tag} N="{name}">{text}</{tag}>\r\n'


# -- Output -----------------------------------------------------------------------------------


def _write_list(target: Target, objects: list[list[tuple[str, Any]]], width: int, culture: str,
                encoding: str) -> int:
    """Format-List of ``objects`` redirected to a file from a console ``width`` wide: Out-File writes lines of
    one character less (so that the file shown again on that console does not wrap), words kept whole in the
    cultures PowerShell wraps words in (``format_list``); UTF-16 LE with BOM (``>``, ``Out-File``), or UTF-8
    with BOM (``Out-File -Encoding utf8``) or without (PowerShell 7's ``>``)."""
    _check_encoding(encoding, ("utf-16", "utf-8-sig", "utf-8"))
    with _text_target(target, encoding) as out:
        out.write(format_list(objects, width=width - 1, culture=culture))
    return len(objects)


def _wall_time(row: Row, zone: ZoneInfo) -> datetime:
    """A row's time to the second as the server's clock in ``zone`` showed it (what local-time exports print)."""
    return datetime.fromtimestamp(int(row["time_created"]) // 1_000_000_000, tz=timezone.utc).astimezone(zone)


def _date_format(culture: str) -> DateFormat:
    if culture not in DATE_FORMATS:
        raise ValueError(f"culture must be one of {', '.join(DATE_FORMATS)}, not {culture!r}")
    return DATE_FORMATS[culture]


def _culture(name: str) -> Culture:
    if name not in CULTURES:
        raise ValueError(f"culture must be one of {', '.join(CULTURES)}, not {name!r}")
    return CULTURES[name]


def _check_edition(edition: str) -> None:
    if edition not in EDITIONS:
        raise ValueError(f"edition must be one of {', '.join(EDITIONS)}, not {edition!r}")


def _check_encoding(encoding: str, allowed: tuple[str, ...]) -> None:
    if encoding not in allowed:
        raise ValueError(f"encoding must be one of {', '.join(allowed)}, not {encoding!r}")


def _write_all(out: io.TextIOBase, pieces: Iterable[str], separator: str) -> int:
    count = 0
    for piece in pieces:
        out.write(piece + separator)
        count += 1
    return count


@contextmanager
def _text_target(target: Target, encoding: str) -> Iterator[io.TextIOWrapper]:
    """Text output to a path or a caller's binary stream (left open), no newline translation."""
    codec = _ENCODINGS[encoding]
    errors = "replace" if codec.startswith("cp") or codec == "ascii" else "strict"  # "?" for what the code page lacks
    if hasattr(target, "write"):
        text = io.TextIOWrapper(target, encoding=codec, errors=errors, newline="")
        try:
            if encoding == "utf-16":
                text.write("\ufeff")
            yield text
        finally:
            text.flush()
            text.detach()
    else:
        with open(target, "w", encoding=codec, errors=errors, newline="") as text:
            if encoding == "utf-16":
                text.write("\ufeff")
            yield text
