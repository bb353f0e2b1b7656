"""One event record as Windows writes it into an .evtx chunk: header, BinXml, padding, size.

The BinXml is a template instance of a System template shaped like the one Windows
uses (Provider, Channel and Computer as literals, the 20 substitution slots numbered as
Windows numbers them) whose slot 19 is the EventData: a nested BinXml fragment that is
itself an instance of an EventData template, with one String substitution per
``<Data>``, or, for classic sources logging through ReportEvent, one string array.

>>> from exlab.lab.binxml import ChunkTables
>>> tables = ChunkTables()
>>> record = encode_record({"time_created": 1_742_462_042_123_456_700, "computer": "EX01",
...     "channel": "Application", "provider": "MSExchangeTransport", "event_id": 2004,
...     "qualifiers": 16388, "level": 4, "task": 2, "keywords": "0x80000000000000",
...     "record_id": 1, "data": {"%1": "Outbound to Office 365"}}, tables, 512, 1)
>>> record[:4], len(tables.names) > 20, len(tables.references)
(b'**\\x00\\x00', True, 2)
"""

from __future__ import annotations

import struct
import uuid
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from exlab.lab.binxml import (
    EOF_TOKEN,
    FRAGMENT_HEADER,
    ChunkTables,
    Element,
    Sub,
    Template,
    ValueType,
    descriptor,
    guid_bytes,
    sid_bytes,
    template_instance,
)
from exlab.events.evtx_layout import RECORD_HEADER_SIZE
from exlab.lab.evtx_layout import RECORD_ALIGNMENT, filetime_from_ns, record_header

EVENT_NAMESPACE = "http://schemas.microsoft.com/win/2004/08/events/event"

# The System template's substitution slots, numbered as Windows numbers them.
LEVEL, OPCODE, TASK, EVENT_ID, QUALIFIERS, KEYWORDS, TIME_CREATED, ACTIVITY_ID = range(8)
PROCESS_ID, THREAD_ID, RECORD_ID, VERSION, USER_ID = range(8, 13)
RELATED_ACTIVITY_ID = 18
EVENT_DATA = 19
SLOT_COUNT = 20

_U8, _U16, _U32, _U64 = (struct.Struct(f) for f in ("<B", "<H", "<I", "<Q"))
_NULL = (0, b"")
_COUNT = _U32.pack(SLOT_COUNT)
_EOF = bytes([EOF_TOKEN])


@lru_cache(maxsize=1024)
def system_template(provider: str, channel: str, computer: str, *, qualifiers: bool = True,
                    provider_guid: str | None = None) -> Template:
    """The template of an event's ``<Event>`` element, as Windows shapes it for a source.

    >>> system_template("MSExchangeTransport", "Application", "EX01").root.name
    'Event'
    """
    provider_attrs: tuple[tuple[str, str | Sub], ...] = (("Name", provider),)
    if provider_guid:      # manifest providers: a literal, upper case in braces
        provider_attrs += (("Guid", "{" + str(uuid.UUID(provider_guid.strip().strip("{}"))).upper() + "}"),)
    event_id_attrs = (("Qualifiers", Sub(QUALIFIERS, ValueType.UINT16)),) if qualifiers else ()

    def slot(name: str, index: int, value_type: ValueType) -> Element:
        return Element(name, children=(Sub(index, value_type),))

    system = Element("System", children=(
        Element("Provider", provider_attrs),
        Element("EventID", event_id_attrs, (Sub(EVENT_ID, ValueType.UINT16),)),
        slot("Version", VERSION, ValueType.UINT8),
        slot("Level", LEVEL, ValueType.UINT8),
        slot("Task", TASK, ValueType.UINT16),
        slot("Opcode", OPCODE, ValueType.UINT8),
        slot("Keywords", KEYWORDS, ValueType.HEXINT64),
        Element("TimeCreated", (("SystemTime", Sub(TIME_CREATED, ValueType.FILETIME)),)),
        slot("EventRecordID", RECORD_ID, ValueType.UINT64),
        Element("Correlation", (("ActivityID", Sub(ACTIVITY_ID, ValueType.GUID)),
                                ("RelatedActivityID", Sub(RELATED_ACTIVITY_ID, ValueType.GUID)))),
        Element("Execution", (("ProcessID", Sub(PROCESS_ID, ValueType.UINT32)),
                              ("ThreadID", Sub(THREAD_ID, ValueType.UINT32)))),
        Element("Channel", children=(channel,) if channel else ()),
        Element("Computer", children=(computer,) if computer else ()),
        Element("Security", (("UserID", Sub(USER_ID, ValueType.SID)),)),
    ))
    return Template.of(Element("Event", (("xmlns", EVENT_NAMESPACE),),
                               (system, Sub(EVENT_DATA, ValueType.BINXML))))


@lru_cache(maxsize=4096)
def event_data_template(names: tuple[str | None, ...]) -> Template:
    """The EventData template: one ``<Data>`` per value, named where ``names`` says.

    >>> [e.attributes for e in event_data_template((None, "Thumbprint")).root.children]
    [(), (('Name', 'Thumbprint'),)]
    """
    return Template.of(Element("EventData", children=tuple(
        Element("Data", (("Name", name),) if name is not None else (),
                (Sub(index, ValueType.STRING, optional=False),))
        for index, name in enumerate(names))))


# How classic sources (ReportEvent: MSExchangeTransport, ...) shape EventData: all the
# insertion strings in one string-array value, a UInt32 (0 in every log seen) and the
# optional binary data.
CLASSIC_EVENT_DATA = Template.of(Element("EventData", children=(
    Element("Data", children=(Sub(0, ValueType.STRING_ARRAY),)),
    Element("Binary", children=(Sub(2, ValueType.BINARY),)),
)))


def _is_positional(key: str) -> bool:
    return key.startswith("%") and key[1:].isdigit()


@lru_cache(maxsize=4096)
def _data_layout(keys: tuple[str, ...]) -> tuple[tuple[str, ...], tuple[str | None, ...]]:
    """(keys in write order, Data names): "%N" keys are unnamed values, written by N."""
    if all(_is_positional(key) for key in keys):
        ordered = tuple(sorted(keys, key=lambda key: int(key[1:])))
        return ordered, (None,) * len(keys)
    return keys, tuple(None if _is_positional(key) else key for key in keys)


@lru_cache(maxsize=256)
def _keywords(value: str | int | None) -> int:
    if value is None:
        return 0
    return value if isinstance(value, int) else int(str(value), 16)


def _optional(struct_: struct.Struct, value_type: ValueType, value: Any) -> tuple[int, bytes]:
    if value is None:
        return _NULL
    return descriptor(struct_.size, value_type), struct_.pack(int(value))


def _text(value: Any) -> bytes:
    return ("" if value is None else str(value)).encode("utf-16-le")


@lru_cache(maxsize=256)
def _descriptor_block(count: int) -> struct.Struct:
    return struct.Struct(f"<{count + 1}I")


def _event_data(data: Mapping[str, Any] | None, tables: ChunkTables, at: int,
                classic_strings: bool = False) -> bytes:
    """The nested BinXml fragment of slot 19, written at chunk offset ``at``."""
    if data:
        keys, names = _data_layout(tuple(data))
        try:
            values = [data[key].encode("utf-16-le") for key in keys]
        except AttributeError:                 # not all str: None is "", numbers are text
            values = [_text(data[key]) for key in keys]
        if max(map(len, values)) > 0xFFFF:
            raise ValueError("a <Data> value longer than an .evtx value can be (32767 UTF-16 units)")
    else:
        names, values = (), []
    if classic_strings and not any(names):
        return _classic_event_data(values, tables, at)
    instance = template_instance(event_data_template(names), tables, at + len(FRAGMENT_HEADER))
    count = len(values)
    descriptors = _descriptor_block(count).pack(count, *[len(value) | _STRING_DESCRIPTOR for value in values])
    return b"".join((FRAGMENT_HEADER, instance, descriptors, *values, _EOF))


def _classic_event_data(values: list[bytes], tables: ChunkTables, at: int) -> bytes:
    strings = b"".join(value + b"\x00\x00" for value in values)
    if len(strings) > 0xFFFF:
        raise ValueError("insertion strings longer than an .evtx value can be (65535 bytes in all)")
    instance = template_instance(CLASSIC_EVENT_DATA, tables, at + len(FRAGMENT_HEADER))
    descriptors = struct.pack("<4I", 3, descriptor(len(strings), ValueType.STRING_ARRAY) if values else 0,
                              descriptor(4, ValueType.UINT32), 0)
    return b"".join((FRAGMENT_HEADER, instance, descriptors, strings, _U32.pack(0), _EOF))


_STRING_DESCRIPTOR = ValueType.STRING << 16

# Slots 0-18 of the common event (every number given; no SID, no activity ids):
# one struct for the values, one constant block of descriptors, with or without Qualifiers.
_PLAIN_SLOTS = (
    (ValueType.UINT8, 1), (ValueType.UINT8, 1), (ValueType.UINT16, 2), (ValueType.UINT16, 2),
    (ValueType.UINT16, 2), (ValueType.HEXINT64, 8), (ValueType.FILETIME, 8), (ValueType.NULL, 0),
    (ValueType.UINT32, 4), (ValueType.UINT32, 4), (ValueType.UINT64, 8), (ValueType.UINT8, 1),
) + ((ValueType.NULL, 0),) * 7
_PLAIN_VALUES = {True: struct.Struct("<BBHHHQQIIQB"), False: struct.Struct("<BBHHQQIIQB")}
_PLAIN_DESCRIPTORS = {
    with_qualifiers: struct.pack("<19I", *(
        0 if (index == QUALIFIERS and not with_qualifiers) else descriptor(size, value_type)
        for index, (value_type, size) in enumerate(_PLAIN_SLOTS)))
    for with_qualifiers in (True, False)
}


def _system_values(row: Mapping[str, Any], filetime: int) -> tuple[bytes, bytes]:
    """(descriptors, values) of System slots 0-18 for one row."""
    level, task, qualifiers = row.get("level"), row.get("task"), row.get("qualifiers")
    activity, related = row.get("activity_id"), row.get("related_activity_id")
    sid = row.get("user_sid")
    numbers = (row.get("opcode") or 0, int(row["event_id"]) & 0xFFFF)
    if (level is not None and task is not None and not activity and not related
            and not sid):
        with_qualifiers = qualifiers is not None
        values = (level, *numbers[:1], task, numbers[1], *((qualifiers,) if with_qualifiers else ()),
                  _keywords(row.get("keywords")), filetime, row.get("process_id") or 0,
                  row.get("thread_id") or 0, int(row["record_id"]), row.get("version") or 0)
        return _PLAIN_DESCRIPTORS[with_qualifiers], _PLAIN_VALUES[with_qualifiers].pack(*values)
    slots = [
        _optional(_U8, ValueType.UINT8, level),
        (descriptor(1, ValueType.UINT8), _U8.pack(numbers[0])),
        _optional(_U16, ValueType.UINT16, task),
        (descriptor(2, ValueType.UINT16), _U16.pack(numbers[1])),
        _optional(_U16, ValueType.UINT16, qualifiers),
        (descriptor(8, ValueType.HEXINT64), _U64.pack(_keywords(row.get("keywords")))),
        (descriptor(8, ValueType.FILETIME), _U64.pack(filetime)),
        (descriptor(16, ValueType.GUID), guid_bytes(activity)) if activity else _NULL,
        (descriptor(4, ValueType.UINT32), _U32.pack(row.get("process_id") or 0)),
        (descriptor(4, ValueType.UINT32), _U32.pack(row.get("thread_id") or 0)),
        (descriptor(8, ValueType.UINT64), _U64.pack(int(row["record_id"]))),
        (descriptor(1, ValueType.UINT8), _U8.pack(row.get("version") or 0)),
        _NULL, _NULL, _NULL, _NULL, _NULL, _NULL,
        (descriptor(16, ValueType.GUID), guid_bytes(related)) if related else _NULL,
    ]
    if sid:
        encoded_sid = sid_bytes(sid)
        slots[USER_ID] = (descriptor(len(encoded_sid), ValueType.SID), encoded_sid)
    return (struct.pack("<19I", *(d for d, _ in slots)), b"".join(value for _, value in slots))


def encode_record(row: Mapping[str, Any], tables: ChunkTables, at: int, record_id: int, *,
                  classic_strings: bool = False) -> bytes:
    """One event record (header, BinXml, padding, size copy) for chunk offset ``at``.

    New names and templates go into ``tables``; roll them back if the record is not kept.
    ``classic_strings`` writes unnamed values as one string array (see :func:`write_evtx`).

    >>> record = encode_record({"time_created": 0, "computer": "EX01", "channel": "Application",
    ...     "provider": "MSExchangeTransport", "event_id": 2004, "record_id": 9, "data": {}},
    ...     ChunkTables(), 512, 9)
    >>> record[:4], len(record) % 8, record[-4:] == len(record).to_bytes(4, "little")
    (b'**\\x00\\x00', 0, True)
    """
    shape = (row.get("provider") or "", row.get("channel") or "", row.get("computer") or "",
             row.get("qualifiers") is not None, row.get("provider_guid") or None)
    template = _system_template_of(shape)
    binxml_at = at + RECORD_HEADER_SIZE
    instance = template_instance(template, tables, binxml_at + len(FRAGMENT_HEADER))
    filetime = filetime_from_ns(row.get("time_created"))
    descriptors, values = _system_values(row, filetime)
    values_at = binxml_at + len(FRAGMENT_HEADER) + len(instance) + 4 + 4 * SLOT_COUNT
    event_data = _event_data(row.get("data"), tables, values_at + len(values), classic_strings)
    body = b"".join((FRAGMENT_HEADER, instance, _COUNT, descriptors,
                     _U32.pack(len(event_data) | _BINXML_DESCRIPTOR), values, event_data, _EOF))
    size = RECORD_HEADER_SIZE + len(body) + 4
    padding = -size % RECORD_ALIGNMENT
    size += padding
    return b"".join((record_header(size, record_id, filetime), body, _PADDING[padding], _U32.pack(size)))


@lru_cache(maxsize=1024)
def _system_template_of(shape: tuple[Any, Any, Any, bool, str | None]) -> Template:
    provider, channel, computer, qualifiers, provider_guid = shape
    return system_template(str(provider), str(channel), str(computer), qualifiers=qualifiers,
                           provider_guid=provider_guid)


_BINXML_DESCRIPTOR = ValueType.BINXML << 16
_PADDING = tuple(bytes(n) for n in range(RECORD_ALIGNMENT))
