"""``Get-WinEvent ... | ConvertTo-Json``: EventLogRecord members as JSON.

Windows PowerShell 5.1 (``> file``: UTF-16 LE with a BOM) writes times as ``"\\/Date(ms)\\/"``
(milliseconds since 1970, UTC: finer digits are not in the file) and escapes ``<>&'`` as
``\\u003c``...; PowerShell 7 (UTF-8) writes ISO 8601 times with the server's offset and 100-ns
digits. Both write numbers for Level, Keywords (a signed Int64) and Qualifiers (``null`` for
events without them), and, at the default ``-Depth 2``, ``Properties`` as a list of
``{"Value": ...}`` objects (a value deeper than that, such as a byte array, is written as its
type name: ``"System.Byte[]"``, and a classic event's binary data is then left out of ``data``;
``-Depth 1`` leaves only the type name of each property). One
record is written as an object, not a list. The members are mapped to rows by
:mod:`exlab.events.winevent`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from exlab.clixml import parse_datetime
from exlab.events.query import EventQuery
from exlab.events.text_stream import decode_head, open_text, sniff_encoding
from exlab.events.winevent import IDENTIFYING_MEMBERS, PROPERTY_TYPE, event_data, record_row
from exlab.evidence import Evidence
from exlab.json_export import parse_json
from exlab.limits import read_whole
from exlab.parse_report import FileReport

__all__ = ["FORMAT", "detect", "read"]

FORMAT = "winevent-json"
EXPECTED = "JSON as ConvertTo-Json writes Get-WinEvent's records"
_MS_DATE = re.compile(r"/Date\((-?\d+)(?:[+-]\d{4})?\)/")
_BYTES_TYPE = "System.Byte[]"   # a byte array beyond -Depth, written as its type name


def detect(head: bytes) -> bool:
    """Whether the file is JSON whose first object has EventLogRecord's members.

    >>> detect(b'[\\r\\n    {\\r\\n        "Message":  "x",\\r\\n        "Id":  2004, "RecordId": 1, '
    ...        b'"ProviderName": "P", "LogName": "Application", "TimeCreated": "\\\\/Date(0)\\\\/"')
    True
    >>> detect(b'{"Thumbprint": "AB", "Services": 16}')
    False
    """
    text = decode_head(head, sniff_encoding(head)).lstrip()
    return text[:1] in ("[", "{") and all(f'"{name}"' in text for name in IDENTIFYING_MEMBERS)


def read(evidence: Evidence, query: EventQuery, report: FileReport) -> Iterator[dict]:
    """Yield one event row per record; a record that cannot be read is skipped and counted.

    >>> import io
    >>> from exlab.evidence import iter_evidence
    >>> from exlab.parse_report import ParseReport
    >>> doc = ('{"Message": "Hi", "Id": 2004, "Qualifiers": 16388, "Level": 4, "RecordId": 5, '
    ...        '"ProviderName": "MSExchangeTransport", "LogName": "Application", '
    ...        '"TimeCreated": "2025-06-02T03:16:03.1234567-06:00", "Properties": [{"Value": "a"}, {"Value": ""}]}')
    >>> ev = next(iter_evidence(io.BytesIO(doc.encode())))
    >>> [row] = read(ev, EventQuery.build(), ParseReport().add_file(ev.name, sha256=ev.sha256, format=FORMAT))
    >>> row["event_id"], row["time_created"], row["data"]
    (2004, 1748855763123456700, {'%1': 'a', '%2': ''})
    """
    sniffed = sniff_encoding(evidence.head(4096), source=evidence.name)
    with open_text(evidence.stream, sniffed) as text:
        content = read_whole(text, evidence.name, "a Get-WinEvent JSON export (read whole)")
    document = parse_json(content, evidence.name, EXPECTED)
    records = document if isinstance(document, list) else [document]
    lost_data = lost_binary = millisecond_times = 0
    for position, record in enumerate(records, 1):
        try:
            if not isinstance(record, dict):
                raise ValueError(f"expected an object with the record's members, found {type(record).__name__}")
            time_created, exact = _time(record.get("TimeCreated"), report)
            data, binary_lost = _data(record)
            row = record_row(record, time_created=time_created, data=data or {}, source=evidence.name)
        except ValueError as err:
            report.skip_record(f"record {position}", str(err))
            continue
        report.records_read += 1
        lost_data += data is None
        lost_binary += binary_lost
        millisecond_times += not exact
        if query.wants(row):
            yield row
    if millisecond_times:
        report.note(f"{millisecond_times} time(s) written to the millisecond (Windows PowerShell 5.1's "
                    "\\/Date(ms)\\/): finer digits are not in the file")
    if lost_binary:
        report.note(f"{lost_binary:,} record(s) whose binary data was written as its type name (System.Byte[], "
                    "beyond ConvertTo-Json's -Depth): Binary left out")
    if lost_data:
        report.note(f"{lost_data:,} record(s) without their Properties' values (beyond ConvertTo-Json's -Depth): "
                    "data left empty; export with ConvertTo-Json -Depth 3 or Export-Clixml")


def _time(value: Any, report: FileReport) -> tuple[int, bool]:
    """Nanoseconds since the epoch (UTC) of TimeCreated, and whether it has every 100-ns digit."""
    if isinstance(value, dict) and "value" in value:   # a DateTime wrapped with its ETS members
        value = value["value"]
    if not isinstance(value, str):
        raise ValueError(f"TimeCreated {value!r:.40} is not a time")
    match = _MS_DATE.fullmatch(value.strip())
    if match:
        return int(match.group(1)) * 1_000_000, False
    moment = parse_datetime(value)   # ValueError names the text
    if moment.offset is None and report.assumed_tz is None:
        report.assume_tz("UTC", "TimeCreated carries no offset")
    return moment.nanoseconds, True


def _data(record: dict) -> tuple[dict[str, str] | None, bool]:
    """``%1``..``%n`` from the Properties' values (None when they are not in the file), and whether
    the classic event's binary data was left out (written as its type name only)."""
    properties = record.get("Properties")
    if properties is None:
        return {}, False
    if not isinstance(properties, list):
        return None, False
    values = []
    for item in properties:
        if isinstance(item, dict) and "Value" in item:
            values.append(item["Value"])
        elif isinstance(item, str) and item == PROPERTY_TYPE:
            return None, False   # -Depth 1: only the type name of each property
        else:
            raise ValueError(f"a Properties item is not an object with a Value: {item!r:.60}")
    classic = record.get("Qualifiers") is not None
    last = values[-1] if values else None
    binary_lost = classic and last == _BYTES_TYPE
    if binary_lost:
        values.pop()
    elif classic and isinstance(last, list) and all(isinstance(b, int) and 0 <= b <= 255 for b in last):
        values[-1] = bytes(last)   # -Depth 3 and more: the binary data's bytes
    if _BYTES_TYPE in values:
        return None, binary_lost
    return event_data(values, classic=classic), binary_lost
