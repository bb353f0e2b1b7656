"""What ``Get-WinEvent`` hands out: EventLogRecord objects, whatever file they were exported to.

``Get-WinEvent`` returns ``System.Diagnostics.Eventing.Reader.EventLogRecord`` objects
(``Deserialized.``-prefixed when they come back from a remote session). Export-Clixml,
Export-Csv and ConvertTo-Json write the same members: ``Id``, ``Qualifiers`` (only classic
events have them), ``Level``, ``Task``, ``Keywords`` (a signed Int64), ``RecordId``,
``ProviderName``, ``LogName``, ``MachineName``, ``TimeCreated``, ``Properties`` (one
EventProperty ``Value`` per insertion string) and PowerShell's ``Message``. Each format
module turns its file into those members as Python values; this module maps them to the
events frame's row the same way for all of them.

>>> row = record_row({"Id": 2004, "Qualifiers": 16388, "Level": 4, "Task": 2,
...     "Keywords": 36028797018963968, "RecordId": 771190, "ProviderName": "MSExchangeTransport",
...     "LogName": "Application", "MachineName": "mpex02.munsonspickles.com", "Message": "Send connector ..."},
...     time_created=1748855763120000000, data=event_data(["Outbound to Office 365", ""], classic=True),
...     source="events.xml")
>>> row["event_id"], row["qualifiers"], row["keywords"], row["channel"], row["data"]
(2004, 16388, '0x80000000000000', 'Application', {'%1': 'Outbound to Office 365', '%2': ''})
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from exlab.clixml import ClixmlDateTime, ClixmlObject
from exlab.events.system_time import format_system_time

RECORD_TYPE = "System.Diagnostics.Eventing.Reader.EventLogRecord"
#: the type names an exported record carries: local, or back from a remote session
RECORD_TYPES = (RECORD_TYPE, "Deserialized." + RECORD_TYPE)
PROPERTY_TYPE = "System.Diagnostics.Eventing.Reader.EventProperty"
#: the members a file must hold for its objects to be taken for EventLogRecords
IDENTIFYING_MEMBERS = ("Id", "ProviderName", "RecordId", "TimeCreated", "LogName")


def keywords_text(value: int | None) -> str | None:
    """Keywords as the frame keeps them (as Event XML writes them): the 64 bits in hex.

    PowerShell writes the Int64, so the top bit comes out negative.

    >>> keywords_text(36028797018963968), keywords_text(-9223372036854775808), keywords_text(None)
    ('0x80000000000000', '0x8000000000000000', None)
    """
    return None if value is None else f"{int(value) & 0xFFFF_FFFF_FFFF_FFFF:#x}"


def property_text(value: Any) -> str:
    """One EventProperty ``Value`` as Windows shows it in the event's XML.

    Text stays as it is, numbers in decimal, booleans ``true``/``false``, bytes in upper-case
    hex, times as SystemTime (UTC, 100 ns), an object (a SecurityIdentifier) as its ToString;
    nothing (``<Nil/>``, null) is empty.

    >>> property_text(b"MS"), property_text(True), property_text(None), property_text(7)
    ('4D53', 'true', '', '7')
    >>> property_text(ClixmlObject({"Value": "S-1-5-18"}, to_string="S-1-5-18"))
    'S-1-5-18'
    """
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (bytes, bytearray)):
        return bytes(value).hex().upper()
    if isinstance(value, ClixmlDateTime):
        return format_system_time(value.nanoseconds)
    if isinstance(value, ClixmlObject):
        if value.to_string is not None:
            return value.to_string
        return property_text(value.get("Value"))
    if isinstance(value, list) and all(isinstance(v, int) and 0 <= v <= 255 for v in value):
        return bytes(value).hex().upper()   # a byte array as ConvertTo-Json writes it
    return str(value)


def event_data(values: Sequence[Any], *, classic: bool) -> dict[str, str]:
    """The ``data`` of a record from its Properties' values: ``%1``..``%n``, empty ones kept.

    A classic event (one with Qualifiers) keeps its binary data as the last property, a
    byte array: it goes under ``Binary`` (hex), as the event's XML and the other readers keep it.

    >>> event_data(["Administrator", "", b"\\x0a\\x0b"], classic=True)
    {'%1': 'Administrator', '%2': '', 'Binary': '0A0B'}
    >>> event_data([b"\\x0a"], classic=False)
    {'%1': '0A'}
    """
    values = list(values)
    binary = None
    if classic and values and isinstance(values[-1], (bytes, bytearray)):
        binary = property_text(values.pop())
    data = {f"%{index}": property_text(value) for index, value in enumerate(values, 1)}
    if binary is not None:
        data["Binary"] = binary
    return data


def record_row(record: Mapping[str, Any], *, time_created: int | None, data: dict[str, str] | None,
               source: str) -> dict:
    """The events-frame row of one record's members (already Python values).

    Raises ``ValueError`` when the record has no usable ``Id`` (it is then skipped and counted).

    >>> record_row({"Id": 104, "Qualifiers": None, "Level": 4, "Task": 104, "RecordId": 4762},
    ...            time_created=None, data={}, source="System.xml")["qualifiers"] is None
    True
    >>> record_row({"Id": "x"}, time_created=None, data={}, source="a.xml")
    Traceback (most recent call last):
    ValueError: the record's Id 'x' is not a number from 0 to 65535
    """
    event_id = _integer(record.get("Id"))
    if event_id is None or not 0 <= event_id <= 0xFFFF:
        raise ValueError(f"the record's Id {record.get('Id')!r} is not a number from 0 to 65535")
    return {
        "time_created": time_created,
        "computer": _text(record.get("MachineName")),
        "channel": _text(record.get("LogName")),
        "provider": _text(record.get("ProviderName")),
        "event_id": event_id,
        "qualifiers": _integer(record.get("Qualifiers")),
        "level": _integer(record.get("Level")),
        "task": _integer(record.get("Task")),
        "keywords": keywords_text(_integer(record.get("Keywords"))),
        "record_id": _integer(record.get("RecordId")),
        "record_number": None,
        "data": data,
        "message": None if record.get("Message") is None else str(record["Message"]),
        "source": source,
    }


def _integer(value: Any) -> int | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        return int(value)
    if isinstance(value, str) and re.fullmatch(r"\s*-?\d+\s*", value):
        return int(value)
    return None


def _text(value: Any) -> str | None:
    return None if value is None or value == "" else str(value)
