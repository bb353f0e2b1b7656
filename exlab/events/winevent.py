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
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

from exlab.clixml import ClixmlDateTime, ClixmlObject
from exlab.errors import DataLossWarning
from exlab.events.system_time import format_system_time
from exlab.parse_report import FileReport

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
    event_id = integer_value(record.get("Id"))
    if event_id is None or not 0 <= event_id <= 0xFFFF:
        raise ValueError(f"the record's Id {record.get('Id')!r} is not a number from 0 to 65535")
    return {
        "time_created": time_created,
        "computer": text_value(record.get("MachineName")),
        "channel": text_value(record.get("LogName")),
        "provider": text_value(record.get("ProviderName")),
        "event_id": event_id,
        "qualifiers": integer_value(record.get("Qualifiers")),
        "level": integer_value(record.get("Level")),
        "task": integer_value(record.get("Task")),
        "keywords": keywords_text(integer_value(record.get("Keywords"))),
        "record_id": integer_value(record.get("RecordId")),
        "record_number": None,
        "data": data,
        "message": None if record.get("Message") is None else str(record["Message"]),
        "source": source,
    }


def with_message_data(rows: Iterable[dict], report: FileReport, *, export: str, why: str) -> Iterator[dict]:
    """``rows``, those whose ``data`` is None given the insertion strings taken back out of their rendered
    ``message``: for events in exlab's catalog (``exlab.transport.catalog``), the ones it names, in any
    language it knows; ``{}`` for the others. For exports that do not show the values of Properties
    (``export``; ``why`` says how): once the rows are through, ``report`` notes how many were recovered,
    and warns (DataLossWarning, once) of those left without data.

    >>> report = FileReport("fl.txt", "", "winevent-list")
    >>> rows = [{"provider": "MSExchangeTransport", "event_id": 12016, "data": None,
    ...          "message": "The STARTTLS certificate for the FQDN mail.contoso.com has expired."}]
    >>> [row["data"] for row in with_message_data(rows, report, export="Format-List", why="no values")]
    [{'%1': 'mail.contoso.com'}]
    >>> report.warnings
    ['1 record(s): insertion strings taken back out of the message (no values)']
    """
    recovered = lost = 0
    for row in rows:
        if row["data"] is None:
            row["data"] = _data_from_message(row)
            recovered += bool(row["data"])
            lost += not row["data"]
        yield row
    if recovered:
        report.note(f"{recovered:,} record(s): insertion strings taken back out of the message ({why})")
    if lost:
        report.note(f"{lost:,} record(s) without data: {export} does not write the insertion strings")
        report.warn(f"{lost:,} record(s) without their insertion strings ({why}); export with Export-Clixml to "
                    "keep them", None, DataLossWarning)


def _data_from_message(row: dict) -> dict[str, str]:
    """``%n`` of the insertion strings the catalog names, taken out of the rendered message."""
    from exlab.transport.catalog import lookup          # here: exlab.transport imports pandas and the
    from exlab.transport.fields import fields_from_message   # events package; only these readers need it

    entry = lookup(row["provider"], row["event_id"])
    if entry is None or not entry.fields or not row["message"]:
        return {}
    found = fields_from_message(entry, row["message"])
    return {f"%{index}": found[name] for index, name in enumerate(entry.fields, 1) if name in found}


def integer_value(value: Any) -> int | None:
    """A whole number as an export gives it: an int, or its digits as text (Format-List, Export-Csv);
    None for nothing, a boolean or anything else.

    >>> integer_value(16388), integer_value(" -5 "), integer_value("0x10"), integer_value(True)
    (16388, -5, None, None)
    """
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        return int(value)
    if isinstance(value, str) and re.fullmatch(r"\s*-?\d+\s*", value):
        return int(value)
    return None


def text_value(value: Any) -> str | None:
    """A text member, None when it is empty or null.

    >>> text_value(""), text_value("EX01")
    (None, 'EX01')
    """
    return None if value is None or value == "" else str(value)
