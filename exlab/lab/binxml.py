"""Binary XML (MS-EVEN6 BinXml) as Windows writes it into the chunks of an .evtx file.

An event record holds a fragment whose body is a *template instance*: a reference to
a template (an element tree with substitution slots, identified by a GUID) followed
by the typed values of the slots. The first instance of a template in a chunk carries
its definition inline; later ones point back at it by its offset in the chunk. Element
and attribute names live in the chunk's string table: written inline on first use,
hashed and chained into the 64-bucket common string offset table, referenced by offset
afterwards. Templates are chained into the 32-bucket template pointer table the same way.

>>> tables = ChunkTables()
>>> tpl = Template.of(Element("Level", children=(Sub(0, ValueType.UINT8),)))
>>> first = template_instance(tpl, tables, at=600)      # defines the template at 610
>>> again = template_instance(tpl, tables, at=900)      # refers back to it
>>> len(first) > len(again) == 10, again[6:10] == (610).to_bytes(4, "little")
(True, True)
"""

from __future__ import annotations

import hashlib
import struct
import uuid
from dataclasses import dataclass
from functools import cached_property
from enum import IntEnum
from typing import Union

from exlab.lab.evtx_layout import STRING_BUCKETS, TEMPLATE_BUCKETS

# tokens; OR-ing MORE into a token says "another one of these follows" (attributes)
# or "this element has an attribute list" (open start element)
EOF_TOKEN = 0x00
OPEN_START_ELEMENT = 0x01
CLOSE_START_ELEMENT = 0x02
CLOSE_EMPTY_ELEMENT = 0x03
END_ELEMENT = 0x04
VALUE_TEXT = 0x05
ATTRIBUTE = 0x06
TEMPLATE_INSTANCE = 0x0C
NORMAL_SUBSTITUTION = 0x0D
OPTIONAL_SUBSTITUTION = 0x0E
MORE = 0x40

FRAGMENT_HEADER = b"\x0f\x01\x01\x00"   # token, major 1, minor 1, flags 0
NO_DEPENDENCY = 0xFFFF


class ValueType(IntEnum):
    """BinXml value types of substitution values (MS-EVEN6 2.2.12, libevtx "Value types")."""

    NULL = 0x00
    STRING = 0x01          # UTF-16LE, no terminator
    UINT8 = 0x04
    UINT16 = 0x06
    UINT32 = 0x08
    UINT64 = 0x0A
    BINARY = 0x0E
    GUID = 0x0F            # 16 bytes, mixed-endian as Windows stores a GUID
    FILETIME = 0x11
    SID = 0x13
    HEXINT32 = 0x14
    HEXINT64 = 0x15
    BINXML = 0x21          # a nested fragment (EventData of classic events)
    STRING_ARRAY = 0x81    # UTF-16LE strings, each NUL-terminated


@dataclass(frozen=True)
class Sub:
    """A substitution slot: value ``index`` of the instance, of ``type``.

    Optional substitutions drop their element or attribute when the value is NULL.
    """

    index: int
    type: ValueType
    optional: bool = True


Content = Union["Element", str, Sub]


@dataclass(frozen=True)
class Element:
    """An element of a template: literal or substituted attributes and content.

    >>> Element("Data", (("Name", "Connector"),), (Sub(0, ValueType.STRING, optional=False),)).name
    'Data'
    """

    name: str
    attributes: tuple[tuple[str, str | Sub], ...] = ()
    children: tuple[Content, ...] = ()


@dataclass(frozen=True)
class Template:
    """A template: its root element and its GUID (the first 4 bytes double as its id)."""

    root: Element
    guid: bytes

    @classmethod
    def of(cls, root: Element) -> Template:
        """The template of ``root``, its GUID derived from the tree (same tree, same GUID).

        >>> Template.of(Element("Event")).guid == Template.of(Element("Event")).guid
        True
        """
        return cls(root, hashlib.blake2b(repr(root).encode("utf-8"), digest_size=16).digest())

    @cached_property
    def template_id(self) -> int:
        """The id in a template instance: the GUID's first 4 bytes, as Windows writes it."""
        return int.from_bytes(self.guid[:4], "little")


def name_hash(name: str) -> int:
    """The 16-bit hash Windows stores with a name: h = h * 65599 + unit over UTF-16 units.

    >>> hex(name_hash("Event")), name_hash("Event") % 64
    ('0xcba', 58)
    """
    value = 0
    for (unit,) in struct.iter_unpack("<H", name.encode("utf-16-le")):
        value = (value * 65599 + unit) & 0xFFFFFFFF
    return value & 0xFFFF


def template_bucket(guid: bytes) -> int:
    """The template pointer table bucket of a template GUID (its 8 UTF-16 units hashed).

    >>> template_bucket(bytes(16))
    0
    """
    value = 0
    for (unit,) in struct.iter_unpack("<H", guid):
        value = (value * 65599 + unit) & 0xFFFFFFFF
    return value % TEMPLATE_BUCKETS


class ChunkTables:
    """A chunk's string and template tables, with a journal to undo a record's additions.

    A record that turns out not to fit in the chunk is encoded again in the next one;
    :meth:`rollback` forgets the names and templates it had added.

    >>> tables = ChunkTables()
    >>> tables.add_name("Event", 589)
    0
    >>> tables.name_offset("Event"), tables.string_heads[58]
    (589, 589)
    >>> tables.rollback(); tables.name_offset("Event") is None
    True
    """

    def __init__(self) -> None:
        self.names: dict[str, int] = {}
        self.references: dict[bytes, bytes] = {}    # GUID -> instance token of the defined template
        self.string_heads = [0] * STRING_BUCKETS
        self.template_heads = [0] * TEMPLATE_BUCKETS
        self._journal: list[tuple[str, object, int, int]] = []

    def name_offset(self, name: str) -> int | None:
        return self.names.get(name)

    def add_name(self, name: str, offset: int) -> int:
        """Record a name written at ``offset``; returns the chain's previous head (its "next")."""
        bucket = name_hash(name) % STRING_BUCKETS
        previous = self.string_heads[bucket]
        self.names[name] = offset
        self.string_heads[bucket] = offset
        self._journal.append(("name", name, bucket, previous))
        return previous

    def add_template(self, template: Template, offset: int) -> int:
        """Record a template defined at ``offset``; returns the chain's previous head."""
        bucket = template_bucket(template.guid)
        previous = self.template_heads[bucket]
        self.references[template.guid] = struct.pack("<BBII", TEMPLATE_INSTANCE, 1,
                                                     template.template_id, offset)
        self.template_heads[bucket] = offset
        self._journal.append(("template", template.guid, bucket, previous))
        return previous

    def commit(self) -> None:
        self._journal.clear()

    def rollback(self) -> None:
        while self._journal:
            kind, key, bucket, previous = self._journal.pop()
            if kind == "name":
                del self.names[key]  # type: ignore[arg-type]
                self.string_heads[bucket] = previous
            else:
                del self.references[key]  # type: ignore[index]
                self.template_heads[bucket] = previous

    def pack_into(self, chunk: bytearray, strings_at: int, templates_at: int) -> None:
        """Write both tables into the chunk header."""
        struct.pack_into(f"<{STRING_BUCKETS}I", chunk, strings_at, *self.string_heads)
        struct.pack_into(f"<{TEMPLATE_BUCKETS}I", chunk, templates_at, *self.template_heads)


class _TemplateEncoder:
    """Encodes one template body at a known chunk offset, adding new names to the tables."""

    def __init__(self, tables: ChunkTables, at: int) -> None:
        self.tables = tables
        self.at = at
        self.out = bytearray()

    def name(self, name: str) -> None:
        offset = self.tables.name_offset(name)
        if offset is not None:
            self.out += struct.pack("<I", offset)
            return
        offset = self.at + len(self.out) + 4
        text = name.encode("utf-16-le")
        following = self.tables.add_name(name, offset)
        self.out += struct.pack("<IIHH", offset, following, name_hash(name), len(text) // 2)
        self.out += text + b"\x00\x00"

    def content(self, item: Content) -> None:
        if isinstance(item, Element):
            self.element(item)
        elif isinstance(item, Sub):
            token = OPTIONAL_SUBSTITUTION if item.optional else NORMAL_SUBSTITUTION
            self.out += struct.pack("<BHB", token, item.index, item.type)
        else:
            self.out += struct.pack("<BBH", VALUE_TEXT, ValueType.STRING, len(item.encode("utf-16-le")) // 2)
            self.out += item.encode("utf-16-le")

    def element(self, element: Element) -> None:
        out = self.out
        start = len(out)
        dependency = next((c.index for c in element.children if isinstance(c, Sub) and c.optional),
                          NO_DEPENDENCY)
        token = OPEN_START_ELEMENT | (MORE if element.attributes else 0)
        out += struct.pack("<BHI", token, dependency, 0)
        self.name(element.name)
        if element.attributes:
            list_at = len(out)
            out += b"\x00\x00\x00\x00"
            last = len(element.attributes) - 1
            for position, (name, value) in enumerate(element.attributes):
                out.append(ATTRIBUTE | (MORE if position < last else 0))
                self.name(name)
                self.content(value)
            struct.pack_into("<I", out, list_at, len(out) - list_at - 4)
        if element.children:
            out.append(CLOSE_START_ELEMENT)
            for child in element.children:
                self.content(child)
            out.append(END_ELEMENT)
        else:
            out.append(CLOSE_EMPTY_ELEMENT)
        struct.pack_into("<I", out, start + 3, len(out) - start - 7)


def template_instance(template: Template, tables: ChunkTables, at: int) -> bytes:
    """The template instance token written at chunk offset ``at``, with the definition
    inline when the chunk does not hold it yet (instance data is not included).

    >>> tables = ChunkTables()
    >>> first = template_instance(Template.of(Element("EventData")), tables, at=700)
    >>> first[:2].hex(), int.from_bytes(first[6:10], "little"), first[34:38] == FRAGMENT_HEADER
    ('0c01', 710, True)
    """
    reference = tables.references.get(template.guid)
    if reference is not None:
        return reference
    offset = at + 10
    following = tables.add_template(template, offset)
    encoder = _TemplateEncoder(tables, offset + 24 + len(FRAGMENT_HEADER))
    encoder.element(template.root)
    body = FRAGMENT_HEADER + bytes(encoder.out) + bytes([EOF_TOKEN])
    return (tables.references[template.guid] + struct.pack("<I", following) + template.guid + struct.pack("<I", len(body)) + body)


def descriptor(size: int, value_type: int) -> int:
    """A value descriptor (size, type, 0) as one little-endian 32-bit word.

    >>> descriptor(4, ValueType.UINT32).to_bytes(4, "little").hex(" ")
    '04 00 08 00'
    """
    return size | value_type << 16


def sid_bytes(sid: str) -> bytes:
    """The binary form of a SID string such as ``S-1-5-18``.

    >>> sid_bytes("S-1-5-18").hex(" ")
    '01 01 00 00 00 00 00 05 12 00 00 00'
    """
    parts = sid.strip().upper().split("-")
    if len(parts) < 3 or parts[0] != "S":
        raise ValueError(f"not a SID string: {sid!r}")
    revision, authority, *subs = (int(p) for p in parts[1:])
    return (struct.pack("<BB", revision, len(subs)) + authority.to_bytes(6, "big")
            + struct.pack(f"<{len(subs)}I", *subs))


def guid_bytes(guid: str) -> bytes:
    """The 16 bytes Windows stores for a GUID string (braces optional).

    >>> guid_bytes("{00000001-0002-0003-0405-060708090a0b}").hex()
    '01000000020003000405060708090a0b'
    """
    return uuid.UUID(guid.strip().strip("{}")).bytes_le
