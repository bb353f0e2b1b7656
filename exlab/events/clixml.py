"""``Get-EventLog ... | Export-Clixml``: serialized System.Diagnostics.EventLogEntry objects.

The document is decoded by :mod:`exlab.clixml` (Windows PowerShell 5.1 writes UTF-16 LE
with a BOM, PowerShell 7 UTF-8); this module maps its EventLogEntry objects to event rows.

An EventLogEntry gives: ``InstanceId`` = qualifiers << 16 | event id, ``ReplacementStrings``
(the insertion strings, ``data`` %1..%n), ``Message``, ``Source``, ``CategoryNumber``
(task), ``EntryType`` (level), ``TimeGenerated`` (with its offset), ``MachineName``,
``Index`` (record id) and ``Data`` (bytes, kept as hex under ``Binary``). It has no
channel or keywords. Only EventLogEntry exports are claimed here: other CliXml (such as
Get-ExchangeCertificate) belongs to other readers. PowerShell's own ``EventID`` script
property (in ``<MS>``) is the low 16 bits only, so ``InstanceId`` is preferred.

``decode_string`` and ``encode_string`` stay importable from here: the lab's writers import
them from this module.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any

from exlab.clixml import PS_NS, ClixmlDateTime, ClixmlObject, decode_string, encode_string, iter_items
from exlab.errors import CorruptInput
from exlab.events.query import EventQuery
from exlab.events.text_stream import decode_head, sniff_encoding
from exlab.events.winevent import integer_value, text_value
from exlab.evidence import Evidence
from exlab.parse_report import FileReport

__all__ = ["ENTRY_TYPE", "ENTRY_TYPE_LEVELS", "ENTRY_TYPE_NAMES", "FORMAT", "PS_NS", "decode_string", "detect",
           "encode_string", "entry_row", "read", "read_objects"]

FORMAT = "eventlog-clixml"
ENTRY_TYPE = "System.Diagnostics.EventLogEntry"
# Get-EventLog run through a remote session (Invoke-Command, Enter-PSSession) hands back
# deserialized objects, and Export-Clixml writes their type names with this prefix
_ENTRY_TYPES = (ENTRY_TYPE, "Deserialized." + ENTRY_TYPE)
# EventLogEntryType -> level: Error, Warning, Information; audits are level 0 in the log.
ENTRY_TYPE_LEVELS = {1: 2, 2: 3, 4: 4, 8: 0, 16: 0}
ENTRY_TYPE_NAMES = {1: "Error", 2: "Warning", 4: "Information", 8: "SuccessAudit", 16: "FailureAudit"}


def detect(head: bytes) -> bool:
    """Whether the file is CliXml holding EventLogEntry objects.

    >>> detect('<Objs Version="1.1.0.1" xmlns="http://schemas.microsoft.com/powershell/2004/04">'
    ...        '<Obj RefId="0"><TN RefId="0"><T>System.Diagnostics.EventLogEntry</T>'.encode("utf-16"))
    True
    >>> detect(b'<Objs Version="1.1.0.1" xmlns="http://schemas.microsoft.com/powershell/2004/04">'
    ...        b'<Obj RefId="0"><TN RefId="0"><T>Microsoft.Exchange.Management.SystemConfigurationTasks.ExchangeCertificate</T>')
    False
    """
    return holds_objects_of(head, _ENTRY_TYPES)


def holds_objects_of(head: bytes, type_names: tuple[str, ...]) -> bool:
    """Whether the first bytes of a file are CliXml with an object of one of ``type_names``
    (the event readers' test of Get-EventLog's and Get-WinEvent's exports).

    >>> holds_objects_of(b'<Objs xmlns="http://schemas.microsoft.com/powershell/2004/04"><Obj><TN>'
    ...                  b'<T>System.Diagnostics.EventLogEntry</T>', ("System.Diagnostics.EventLogEntry",))
    True
    """
    text = decode_head(head, sniff_encoding(head))
    return "<Objs" in text and PS_NS in text and any(f"<T>{name}</T>" in text for name in type_names)


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
    yield from read_objects(evidence, report, _ENTRY_TYPES, "EventLogEntry",
                            lambda entry: _row(entry, evidence.name, query, report))


def read_objects(evidence: Evidence, report: FileReport, types: tuple[str, ...], what: str,
                 to_row: Callable[[ClixmlObject], dict | None]) -> Iterator[dict]:
    """The rows ``to_row`` makes of a CliXml file's objects of one of ``types``.

    An object ``to_row`` refuses (``ValueError``) or that cannot be read is skipped and
    counted, objects of other types are counted in a note, a document that breaks off after
    its first object loses the rest (counted as a chunk); one that breaks at once raises
    :class:`~exlab.errors.CorruptInput`. ``to_row`` returns None for an object the query
    does not want.

    >>> import io
    >>> from exlab.evidence import iter_evidence
    >>> from exlab.parse_report import ParseReport
    >>> doc = (f'<Objs Version="1.1.0.1" xmlns="{PS_NS}"><Obj RefId="0"><TN RefId="0"><T>Demo</T></TN>'
    ...        '<Props><I32 N="Id">7</I32></Props></Obj><S>other</S></Objs>')
    >>> ev = next(iter_evidence(io.BytesIO(doc.encode())))
    >>> report = ParseReport().add_file(ev.name, sha256=ev.sha256, format="demo")
    >>> list(read_objects(ev, report, ("Demo",), "Demo", lambda obj: {"event_id": obj["Id"]})), report.warnings
    ([{'event_id': 7}], ['1 object(s) that are not Demo were ignored'])
    """
    evidence.stream.seek(0)
    position = others = 0
    try:
        for item in iter_items(evidence.stream, evidence.name):
            position = item.position
            try:
                if item.error is not None:
                    raise ValueError(item.error)
                if not isinstance(item.value, ClixmlObject) or not any(name in item.value.types for name in types):
                    others += 1
                    continue
                row = to_row(item.value)
            except ValueError as err:
                report.skip_record(f"object {position}", str(err))
                continue
            report.records_read += 1
            if row is not None:
                yield row
    except CorruptInput as err:
        if position == 0:
            raise
        report.skip_chunk(str(err.where), f"the XML breaks off ({err.detail}): the rest of the file is lost")
    if others:
        report.note(f"{others} object(s) that are not {what} were ignored")


def _row(entry: ClixmlObject, source: str, query: EventQuery, report: FileReport) -> dict | None:
    if entry.errors:   # a member that could not be read: the entry is damaged
        name, reason = next(iter(entry.errors.items()))
        raise ValueError(f"{name}: {reason}")
    row = entry_row(entry, source=source)
    if not (query.wants_event_id(row["event_id"]) and query.wants_provider(row["provider"])):
        return None
    generated = entry.get("TimeGenerated")
    if not isinstance(generated, ClixmlDateTime):
        raise ValueError("the EventLogEntry has no TimeGenerated")
    row["time_created"] = generated.nanoseconds
    if generated.offset is None and report.assumed_tz is None:
        report.assume_tz("UTC", "TimeGenerated carries no offset")
    if not query.wants_time(row["time_created"]):
        return None
    raw = entry.get("Data")
    if isinstance(raw, (bytes, bytearray)) and raw:
        row["data"]["Binary"] = raw.hex().upper()
    return row


def entry_row(entry: Mapping[str, Any], *, source: str) -> dict:
    """The events-frame row of one EventLogEntry's members (Python values, or the text Format-List shows
    of them), its ``time_created`` left None: the event id and qualifiers from ``InstanceId`` (else the
    low 16 bits of ``EventID``), the level from ``EntryType`` (its number or name), ``data`` %1..%n from
    ``ReplacementStrings``. ValueError when it has neither InstanceId nor EventID.

    >>> row = entry_row({"InstanceId": "1074005972", "EntryType": "Warning", "Source": "MSExchangeTransport",
    ...                  "ReplacementStrings": ["Outbound to Office 365", ""], "Index": 7}, source="fl.txt")
    >>> row["event_id"], row["qualifiers"], row["level"], row["record_id"], row["data"]
    (2004, 16388, 3, 7, {'%1': 'Outbound to Office 365', '%2': ''})
    """
    instance_id, event_id = integer_value(entry.get("InstanceId")), integer_value(entry.get("EventID"))
    if instance_id is not None:
        event_id, qualifiers = instance_id & 0xFFFF, (instance_id >> 16) & 0xFFFF
    elif event_id is not None:
        event_id, qualifiers = event_id & 0xFFFF, None
    else:
        raise ValueError("the EventLogEntry has neither InstanceId nor EventID")
    entry_type = entry.get("EntryType")
    if isinstance(entry_type, str):  # selected as text, or shown: Information, Warning, ...
        entry_type = next((n for n, name in ENTRY_TYPE_NAMES.items() if name == entry_type.strip()), None)
    strings = entry.get("ReplacementStrings") or []
    return {
        "time_created": None,
        "computer": text_value(entry.get("MachineName")),
        "channel": None,
        "provider": entry.get("Source"),
        "event_id": event_id,
        "qualifiers": qualifiers,
        "level": ENTRY_TYPE_LEVELS.get(int(entry_type)) if isinstance(entry_type, int) else None,
        "task": integer_value(entry.get("CategoryNumber")),
        "keywords": None,
        "record_id": integer_value(entry.get("Index")),
        "record_number": None,
        "data": {f"%{i}": "" if s is None else str(s) for i, s in enumerate(strings, 1)},
        "message": entry.get("Message"),
        "source": source,
    }
