"""``Get-EventLog ... | Export-Clixml``: serialized System.Diagnostics.EventLogEntry objects.

PowerShell's CliXml is ``<Objs Version="1.1.0.1" xmlns="http://schemas.microsoft.com/powershell/2004/04">``
holding one ``<Obj RefId="n">`` per object: its type names (``<TN RefId>`` the first time,
``<TNRef RefId>`` after), ``<ToString>``, adapted properties in ``<Props>`` and extended
ones in ``<MS>`` (PowerShell's own ``EventID`` script property, the low 16 bits). Values
are typed elements (``<S>``, ``<I16>``, ``<I32>``, ``<I64>``, ``<DT>``, ``<BA>`` base64,
``<Nil/>``, nested ``<Obj>`` with ``<LST>`` for arrays and a number for enums, ``<Ref>``
to an object already written). Strings escape what XML cannot carry as ``_xHHHH_``
(``_x000D__x000A_`` for a line break). Windows PowerShell 5.1 writes UTF-16 LE with a
BOM, PowerShell 7 UTF-8.

An EventLogEntry gives: ``InstanceId`` = qualifiers << 16 | event id, ``ReplacementStrings``
(the insertion strings, ``data`` %1..%n), ``Message``, ``Source``, ``CategoryNumber``
(task), ``EntryType`` (level), ``TimeGenerated`` (with its offset), ``MachineName``,
``Index`` (record id) and ``Data`` (bytes, kept as hex under ``Binary``). It has no
channel or keywords. Only EventLogEntry exports are claimed here: other CliXml (such as
Get-ExchangeCertificate) belongs to other readers.

>>> decode_string("Line_x000D__x000A_two_x005F_x")
'Line\\r\\ntwo_x'
>>> encode_string("Line\\r\\ntwo_x")
'Line_x000D__x000A_two_x005F_x'
"""

from __future__ import annotations

import base64
import re
from collections.abc import Iterator
from datetime import datetime, timezone
from typing import Any
from xml.etree.ElementTree import Element, ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import iterparse

from exlab.errors import CorruptInput
from exlab.events.query import EventQuery
from exlab.events.text_stream import decode_head, sniff_encoding
from exlab.evidence import Evidence
from exlab.parse_report import FileReport

FORMAT = "eventlog-clixml"
PS_NS = "http://schemas.microsoft.com/powershell/2004/04"
ENTRY_TYPE = "System.Diagnostics.EventLogEntry"
# EventLogEntryType -> level: Error, Warning, Information; audits are level 0 in the log.
ENTRY_TYPE_LEVELS = {1: 2, 2: 3, 4: 4, 8: 0, 16: 0}
ENTRY_TYPE_NAMES = {1: "Error", 2: "Warning", 4: "Information", 8: "SuccessAudit", 16: "FailureAudit"}

_ESCAPE = re.compile(r"_x([0-9A-Fa-f]{4})_")
_DT = re.compile(r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,7}))?(Z|[+-]\d{2}:\d{2})?")
_INTEGERS = frozenset({"I16", "I32", "I64", "U16", "U32", "U64", "By", "SB"})
_Q = "{" + PS_NS + "}"


class _Enum(int):
    """An enum value from CliXml: its number, and its name from ``<ToString>``."""

    name: str = ""


def detect(head: bytes) -> bool:
    """Whether the file is CliXml holding EventLogEntry objects.

    >>> detect('<Objs Version="1.1.0.1" xmlns="http://schemas.microsoft.com/powershell/2004/04">'
    ...        '<Obj RefId="0"><TN RefId="0"><T>System.Diagnostics.EventLogEntry</T>'.encode("utf-16"))
    True
    >>> detect(b'<Objs Version="1.1.0.1" xmlns="http://schemas.microsoft.com/powershell/2004/04">'
    ...        b'<Obj RefId="0"><TN RefId="0"><T>Microsoft.Exchange.Management.SystemConfigurationTasks.ExchangeCertificate</T>')
    False
    """
    text = decode_head(head, sniff_encoding(head))
    return "<Objs" in text and PS_NS in text and f"<T>{ENTRY_TYPE}</T>" in text


def read(evidence: Evidence, query: EventQuery, report: FileReport) -> Iterator[dict]:
    """Yield one event row per EventLogEntry; other objects and damaged entries are counted.

    >>> import io
    >>> from exlab.events.query import EventQuery
    >>> from exlab.evidence import iter_evidence
    >>> from exlab.lab.event_exports import write_eventlog_clixml
    >>> from exlab.parse_report import ParseReport
    >>> out = io.BytesIO()
    >>> _ = write_eventlog_clixml(out, [{"time_created": 0, "provider": "MSExchangeTransport",
    ...     "event_id": 2004, "qualifiers": 16388, "level": 4, "data": {"%1": "Outbound to Office 365"}}])
    >>> ev = next(iter_evidence(io.BytesIO(out.getvalue())))
    >>> [row] = read(ev, EventQuery.build(), ParseReport().add_file(ev.name, sha256=ev.sha256, format=FORMAT))
    >>> row["event_id"], row["qualifiers"], row["data"]
    (2004, 16388, {'%1': 'Outbound to Office 365'})
    """
    evidence.stream.seek(0)
    types: dict[str, list[str]] = {}
    refs: dict[str, Any] = {}
    root: Element | None = None
    depth = 0
    position = 0
    others = 0
    try:
        for action, element in iterparse(evidence.stream, events=("start", "end")):
            if action == "start":
                depth += 1
                if root is None:
                    root = element
                    if element.tag != _Q + "Objs":
                        raise CorruptInput(evidence.name, "the root element", f"<Objs xmlns=\"{PS_NS}\">",
                                           f"found <{element.tag}>")
                continue
            depth -= 1
            if depth != 1:
                continue
            position += 1
            where = f"object {position}"
            try:
                value = _value(element, types, refs)
            except ValueError as err:
                report.skip_record(where, str(err))
                root.clear()
                continue
            root.clear()
            if not isinstance(value, _Object) or ENTRY_TYPE not in value.types:
                others += 1
                continue
            try:
                row = _row(value, evidence.name, query, report)
            except ValueError as err:
                report.skip_record(where, str(err))
                continue
            report.records_read += 1
            if row is not None:
                yield row
    except (ParseError, DefusedXmlException) as err:
        if root is None or (report.records_read == 0 and not report.losses and not others):
            raise CorruptInput(evidence.name, "the start", "a well-formed CliXml document", str(err)) from err
        line = getattr(err, "position", ("?",))[0]
        report.skip_chunk(f"line {line}, after object {position}",
                          f"the XML breaks off ({err}): the rest of the file is lost")
    if others:
        report.note(f"{others} object(s) that are not EventLogEntry were ignored")


def decode_string(text: str) -> str:
    """A CliXml ``<S>`` value with its ``_xHHHH_`` escapes undone (surrogate pairs joined).

    >>> decode_string("_xD83D__xDE00_ ok")
    '\U0001f600 ok'
    """
    if "_x" not in text:
        return text
    decoded = _ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), text)
    return decoded.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")


def encode_string(text: str) -> str:
    """A string as CliXml writes it: control characters, lone surrogates and ``_x`` escaped.

    >>> encode_string("tab\\there")
    'tab_x0009_here'
    """
    out = []
    for index, char in enumerate(text):
        code = ord(char)
        if code < 0x20 or 0xD800 <= code <= 0xDFFF or code in (0xFFFE, 0xFFFF) or (
                char == "_" and text[index + 1:index + 2] == "x"):
            out.append(f"_x{code:04X}_")
        else:
            out.append(char)
    return "".join(out)


def parse_datetime(text: str) -> tuple[int, bool]:
    """Nanoseconds since the epoch (UTC) of a ``<DT>`` value, and whether it had an offset.

    A value without offset (DateTimeKind.Unspecified) is read as UTC.

    >>> parse_datetime("2025-03-20T14:15:04+01:00")
    (1742476504000000000, True)
    >>> parse_datetime("2025-03-20T13:15:04.5Z")[0] - 1742476504000000000
    500000000
    """
    match = _DT.fullmatch(text.strip())
    if match is None:
        raise ValueError(f"<DT> {text!r} is not an ISO 8601 date and time")
    year, month, day, hour, minute, second = (int(g) for g in match.groups()[:6])
    fraction, zone = match.group(7) or "", match.group(8)
    try:
        moment = datetime(year, month, day, hour, minute, second, tzinfo=timezone.utc)
    except ValueError as err:
        raise ValueError(f"<DT> {text!r} is not a valid date ({err})") from None
    offset = 0 if zone in (None, "Z") else (1 if zone[0] == "+" else -1) * (int(zone[1:3]) * 60 + int(zone[4:6]))
    seconds = int(moment.timestamp()) - offset * 60
    return seconds * 1_000_000_000 + int(fraction.ljust(9, "0") or 0), zone is not None


class _Object(dict):
    """A deserialized ``<Obj>`` with properties: its properties by name, and its type names."""

    types: tuple[str, ...] = ()


def _value(element: Element, types: dict[str, list[str]], refs: dict[str, Any]) -> Any:
    """The Python value of one CliXml value element."""
    tag = element.tag[len(_Q):] if element.tag.startswith(_Q) else element.tag
    text = element.text or ""
    if tag == "S":
        return decode_string(text)
    if tag in _INTEGERS:
        try:
            return int(text.strip())
        except ValueError:
            raise ValueError(f"<{tag}> {text!r} is not an integer") from None
    if tag == "Nil":
        return None
    if tag == "B":
        return text.strip().lower() == "true"
    if tag == "DT":
        return parse_datetime(text)
    if tag == "BA":
        try:
            return base64.b64decode(text.strip(), validate=True)
        except ValueError:
            raise ValueError(f"<BA> is not base64: {text[:40]!r}") from None
    if tag == "Ref":
        ref = element.get("RefId")
        if ref not in refs:
            raise ValueError(f"<Ref RefId={ref!r}> points at no earlier object")
        return refs[ref]
    if tag == "Obj":
        return _object(element, types, refs)
    return text


def _object(element: Element, types: dict[str, list[str]], refs: dict[str, Any]) -> Any:
    names: list[str] = []
    value: Any = None
    for child in element:
        tag = child.tag[len(_Q):]
        if tag == "TN":
            names = [t.text or "" for t in child]
            types[child.get("RefId", "")] = names
        elif tag == "TNRef":
            names = types.get(child.get("RefId", ""), [])
        elif tag in ("LST", "IE", "STK", "QUE"):
            value = [_value(item, types, refs) for item in child]
        elif tag in ("Props", "MS"):
            if not isinstance(value, _Object):
                value = _Object()
            for prop in child:
                value[prop.get("N", "")] = _value(prop, types, refs)
        elif tag in _INTEGERS and value is None:  # an enum: its number beside <ToString>
            value = _Enum(_value(child, types, refs))
    if isinstance(value, _Enum):
        value.name = element.findtext(_Q + "ToString") or ""
    if isinstance(value, _Object):
        value.types = tuple(names)
    if value is None:
        value = element.findtext(_Q + "ToString")
    if element.get("RefId") is not None:
        refs[element.get("RefId")] = value
    return value


def _row(entry: _Object, source: str, query: EventQuery, report: FileReport) -> dict | None:
    instance_id = entry.get("InstanceId")
    event_id = entry.get("EventID")
    if isinstance(instance_id, int):
        event_id, qualifiers = instance_id & 0xFFFF, (instance_id >> 16) & 0xFFFF
    elif isinstance(event_id, int):
        event_id, qualifiers = event_id & 0xFFFF, None
    else:
        raise ValueError("the EventLogEntry has neither InstanceId nor EventID")
    provider = entry.get("Source")
    if not (query.wants_event_id(event_id) and query.wants_provider(provider)):
        return None
    generated = entry.get("TimeGenerated")
    if not isinstance(generated, tuple):
        raise ValueError("the EventLogEntry has no TimeGenerated")
    time_created, has_offset = generated
    if not has_offset and report.assumed_tz is None:
        report.assume_tz("UTC", "TimeGenerated carries no offset")
    if not query.wants_time(time_created):
        return None
    entry_type = entry.get("EntryType")
    if isinstance(entry_type, str):  # selected as text: Information, Warning, ...
        entry_type = next((n for n, name in ENTRY_TYPE_NAMES.items() if name == entry_type), None)
    strings = entry.get("ReplacementStrings") or []
    data = {f"%{i}": "" if s is None else str(s) for i, s in enumerate(strings, 1)}
    raw = entry.get("Data")
    if isinstance(raw, (bytes, bytearray)) and raw:
        data["Binary"] = raw.hex().upper()
    task = entry.get("CategoryNumber")
    record = entry.get("Index")
    return {
        "time_created": time_created,
        "computer": entry.get("MachineName"),
        "channel": None,
        "provider": provider,
        "event_id": event_id,
        "qualifiers": qualifiers,
        "level": ENTRY_TYPE_LEVELS.get(int(entry_type)) if isinstance(entry_type, int) else None,
        "task": task if isinstance(task, int) else None,
        "keywords": None,
        "record_id": record if isinstance(record, int) else None,
        "record_number": None,
        "data": data,
        "message": entry.get("Message"),
        "source": source,
    }
