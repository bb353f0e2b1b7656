"""``Get-WinEvent ... | Export-Clixml``: serialized EventLogRecord objects.

The document is decoded by :mod:`exlab.clixml` (Windows PowerShell 5.1 writes UTF-16 LE with
a BOM, PowerShell 7 UTF-8) and its objects are read by :func:`exlab.events.clixml.read_objects`,
as Get-EventLog's are; this module keeps only the mapping of an EventLogRecord to a row
(:mod:`exlab.events.winevent`). ``TimeCreated`` carries the server's offset and every digit
of 100 ns. ``Properties`` is a list of EventProperty objects, each with its ``Value``; when
the list was serialized too deep (a record that went through a remote session at depth 1) its
items are only type names, and the record's data is not in the file: the row keeps ``{}`` and
the parse report says how many records lost it. ``Message`` is under ``<MS>``.
Get-WinEvent writes the newest record first: the rows keep the file's order.
"""

from __future__ import annotations

from collections.abc import Iterator

from exlab.clixml import ClixmlDateTime, ClixmlObject
from exlab.events.clixml import holds_objects_of, read_objects
from exlab.events.query import EventQuery
from exlab.events.winevent import PROPERTY_TYPE, RECORD_TYPES, event_data, record_row
from exlab.evidence import Evidence
from exlab.parse_report import FileReport

__all__ = ["FORMAT", "detect", "read"]

FORMAT = "winevent-clixml"


def detect(head: bytes) -> bool:
    """Whether the file is CliXml holding EventLogRecord objects (local or deserialized).

    >>> detect('<Objs Version="1.1.0.1" xmlns="http://schemas.microsoft.com/powershell/2004/04">'
    ...        '<Obj RefId="0"><TN RefId="0"><T>Deserialized.System.Diagnostics.Eventing.Reader.EventLogRecord</T>'
    ...        .encode("utf-16"))
    True
    >>> detect(b'<Objs Version="1.1.0.1" xmlns="http://schemas.microsoft.com/powershell/2004/04">'
    ...        b'<Obj RefId="0"><TN RefId="0"><T>System.Diagnostics.EventLogEntry</T>')
    False
    """
    return holds_objects_of(head, RECORD_TYPES)


def read(evidence: Evidence, query: EventQuery, report: FileReport) -> Iterator[dict]:
    """Yield one event row per EventLogRecord; other objects and damaged records are counted.

    >>> import io
    >>> from exlab.evidence import iter_evidence
    >>> from exlab.lab.event_exports import write_winevent_clixml
    >>> from exlab.parse_report import ParseReport
    >>> out = io.BytesIO()
    >>> _ = write_winevent_clixml(out, [{"time_created": 1_700_000_000_123_456_700, "provider": "MSExchangeTransport",
    ...     "event_id": 2004, "qualifiers": 16388, "level": 4, "data": {"%1": "Outbound to Office 365"}}],
    ...     tz="America/Chicago")
    >>> ev = next(iter_evidence(io.BytesIO(out.getvalue())))
    >>> [row] = read(ev, EventQuery.build(), ParseReport().add_file(ev.name, sha256=ev.sha256, format=FORMAT))
    >>> row["event_id"], row["qualifiers"], row["time_created"], row["data"]
    (2004, 16388, 1700000000123456700, {'%1': 'Outbound to Office 365'})
    """
    lost_data = 0

    def to_row(record: ClixmlObject) -> dict | None:
        nonlocal lost_data
        if record.errors:   # a member that could not be read: the record is damaged
            name, reason = next(iter(record.errors.items()))
            raise ValueError(f"{name}: {reason}")
        created = record.get("TimeCreated")
        if not isinstance(created, ClixmlDateTime):
            raise ValueError("the EventLogRecord has no TimeCreated")
        if created.offset is None and report.assumed_tz is None:
            report.assume_tz("UTC", "TimeCreated carries no offset")
        data = _data(record)
        if data is None:
            lost_data += 1
        row = record_row(record, time_created=created.nanoseconds, data=data or {}, source=evidence.name)
        return row if query.wants(row) else None

    yield from read_objects(evidence, report, RECORD_TYPES, "EventLogRecord", to_row)
    if lost_data:
        report.note(f"{lost_data:,} record(s) without their Properties (serialized too deep to keep the values): "
                    "data left empty; export with Export-Clixml on the server itself, or -Depth 3")


def _data(record: ClixmlObject) -> dict[str, str] | None:
    """``%1``..``%n`` from the Properties' values; None when the values are not in the file."""
    properties = record.get("Properties")
    if properties is None:
        return {}
    if not isinstance(properties, list):
        return None
    values = []
    for item in properties:
        if isinstance(item, ClixmlObject) and "Value" in item:
            values.append(item["Value"])
        elif isinstance(item, str) and item.removeprefix("Deserialized.") == PROPERTY_TYPE:
            return None   # only the type name: the value was beyond the serialization depth
        else:
            raise ValueError(f"a Properties item is not an EventProperty with a Value: {item!r:.60}")
    return event_data(values, classic=record.get("Qualifiers") is not None)
