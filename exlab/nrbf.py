""".NET BinaryFormatter streams ([MS-NRBF]) as plain Python values: a bounded, read-only record reader.

A remote PowerShell session (the Exchange Management Shell always is one) sends some objects
with a ``SerializationData`` member: the object as .NET's BinaryFormatter wrote it. This module
reads such a stream's records and nothing more. It never instantiates a type, follows a type
name or loads an assembly: a class record becomes an :class:`NrbfObject` (a dict of its members
that keeps the class and library names as text), an enum (a class whose only member is
``value__``) its number, a string a ``str``, a byte array ``bytes``, other arrays lists, and
every ``MemberReference`` the value it points at.

Records read: SerializationHeader, BinaryLibrary, ClassWithId, SystemClassWithMembers(AndTypes),
ClassWithMembers(AndTypes), BinaryObjectString, BinaryArray, MemberPrimitiveTyped,
MemberReference, ObjectNull, ObjectNullMultiple(256), ArraySinglePrimitive/Object/String and
MessageEnd. Any other record (remoting method calls) raises
:class:`~exlab.errors.UnsupportedFormat`; a stream that breaks a rule, ends early or passes a
limit (:data:`MAX_RECORDS`, :data:`MAX_VALUES`, :data:`MAX_DEPTH`, :data:`MAX_STRING_BYTES`)
raises :class:`~exlab.errors.CorruptInput`, both naming the source and the byte offset. Every
length is checked against the bytes left before anything is read or allocated, so the time
taken grows with the stream's length.

>>> stream = bytes.fromhex(
...     "0001000000ffffffff0100000000000000"          # header: root object 1
...     "0c02000000" "0444656d6f"                     # library 2 "Demo"
...     "0501000000" "0444656d6f" "02000000"          # class 1 "Demo", 2 members:
...     "044e616d65" "05436f756e74" "0100" "08"       #   Name (string), Count (Int32)
...     "02000000" "0603000000" "0445583031" "07000000"   # library 2; Name "EX01", Count 7
...     "0b")                                         # MessageEnd
>>> root = decode(stream, "demo.bin")
>>> root, root.class_name, root.library
({'Name': 'EX01', 'Count': 7}, 'Demo', 'Demo')
>>> decode(stream[:40], "cut.bin")
Traceback (most recent call last):
exlab.errors.CorruptInput: cut.bin, byte offset 37: expected a .NET BinaryFormatter stream [MS-NRBF] (4 more bytes; the stream ends 3 bytes on)
"""

from __future__ import annotations

import struct
from datetime import datetime, timedelta, timezone
from decimal import Decimal, InvalidOperation
from typing import Any

from exlab.errors import CorruptInput, UnsupportedFormat

#: what an error from this module says was expected
EXPECTED = "a .NET BinaryFormatter stream [MS-NRBF]"
#: at most this many records in one stream
MAX_RECORDS = 100_000
#: at most this many members and array items (nulls included) in one stream
MAX_VALUES = 1_000_000
#: records nested inside members deeper than this are refused
MAX_DEPTH = 64
#: a longer string is refused
MAX_STRING_BYTES = 16 * 1024 * 1024

# BinaryTypeEnum: how a member's value is written
_PRIMITIVE, _STRING, _OBJECT, _SYSTEM_CLASS, _CLASS, _OBJECT_ARRAY, _STRING_ARRAY, _PRIMITIVE_ARRAY = range(8)
# PrimitiveTypeEnum -> struct format of the fixed-size ones
_FIXED = {1: "<?", 2: "<B", 6: "<d", 7: "<h", 8: "<i", 9: "<q", 10: "<b", 11: "<f", 12: "<q", 13: "<Q",
          14: "<H", 15: "<I", 16: "<Q"}
_CHAR, _DECIMAL, _TIMESPAN, _DATETIME, _NULL, _STRING_PRIMITIVE = 3, 5, 12, 13, 17, 18
_PRIMITIVE_TYPES = frozenset(_FIXED) | {_CHAR, _DECIMAL, _NULL, _STRING_PRIMITIVE}
_RECORD_NAMES = {0: "SerializationHeader", 21: "MethodCall", 22: "MethodReturn"}
_TICKS_MAX = 3_155_378_975_999_999_999   # DateTime.MaxValue
_EPOCH = datetime(1, 1, 1)


class NrbfObject(dict):
    """A class record: a dict of its members by name, with the class name and the library
    (assembly) name as written (None for a system class).

    >>> NrbfObject({"value": 1}, class_name="Demo.Thing", library="Demo").class_name
    'Demo.Thing'
    """

    __slots__ = ("class_name", "library")

    def __init__(self, members: Any = (), *, class_name: str = "", library: str | None = None) -> None:
        super().__init__(members)
        self.class_name = class_name
        self.library = library


class _Ref:
    """A MemberReference, replaced by its target once the whole stream is read."""

    __slots__ = ("id", "offset")

    def __init__(self, object_id: int, offset: int) -> None:
        self.id = object_id
        self.offset = offset


class _Nulls:
    """ObjectNullMultiple(256): ``count`` nulls in a row."""

    __slots__ = ("count",)

    def __init__(self, count: int) -> None:
        self.count = count


class _ClassInfo:
    """What a class record says of its members, kept for the ClassWithId records that reuse it."""

    __slots__ = ("library", "members", "name", "types")

    def __init__(self, name: str, members: list[str], types: list[tuple[int, Any]], library: str | None) -> None:
        self.name = name
        self.members = members
        self.types = types
        self.library = library


def decode(data: bytes, source: str, *, place: str | None = None) -> Any:
    """The root object of a BinaryFormatter stream, as plain values (see the module's text).

    ``source`` (the evidence file) and ``place`` (where in it the stream sits) name the stream
    in errors, with the byte offset inside it.

    >>> decode(bytes.fromhex("0001000000ffffffff0100000000000000" "0601000000" "024f4b" "0b"), "a.xml")
    'OK'
    >>> decode(b"\\x15" + bytes(16), "a.xml", place="object 1 SerializationData")
    Traceback (most recent call last):
    exlab.errors.UnsupportedFormat: a.xml, object 1 SerializationData, byte offset 0: expected a .NET BinaryFormatter stream [MS-NRBF] (it starts with record type 21 (MethodCall), not a SerializationHeader)
    """
    return _Reader(bytes(data), source, place).read()


class _Reader:
    def __init__(self, data: bytes, source: str, place: str | None) -> None:
        self.data = data
        self.pos = 0
        self.source = source
        self.place = place
        self.objects: dict[int, Any] = {}
        self.classes: dict[int, _ClassInfo] = {}
        self.libraries: dict[int, str] = {}
        self.holders: list[list | dict] = []   # containers that hold a _Ref
        self.records = 0
        self.values = 0

    # -- errors and bytes

    def fail(self, detail: str, offset: int | None = None, kind: type[CorruptInput | UnsupportedFormat] = CorruptInput):
        where = f"byte offset {self.pos if offset is None else offset}"
        raise kind(self.source, f"{self.place}, {where}" if self.place else where, EXPECTED, detail)

    def take(self, size: int) -> bytes:
        left = len(self.data) - self.pos
        if size > left:
            self.fail(f"{size} more bytes; the stream ends {left} bytes on")
        chunk = self.data[self.pos:self.pos + size]
        self.pos += size
        return chunk

    def unpack(self, fmt: str) -> Any:
        return struct.unpack(fmt, self.take(struct.calcsize(fmt)))[0]

    def int32(self) -> int:
        return self.unpack("<i")

    def count(self, what: str, *, minimum: int = 0) -> int:
        start = self.pos
        value = self.int32()
        if value < minimum:
            self.fail(f"{what} {value} is below {minimum}", start)
        return value

    def byte(self) -> int:
        return self.take(1)[0]

    def string(self) -> str:
        """A LengthPrefixedString: a 7-bit encoded length, then UTF-8."""
        start = self.pos
        length = shift = 0
        for index in range(5):
            part = self.byte()
            length |= (part & 0x7F) << shift
            shift += 7
            if not part & 0x80:
                break
            if index == 4:
                self.fail("a string length of at most 5 bytes", start)
        if length > MAX_STRING_BYTES:
            self.fail(f"a string of at most {MAX_STRING_BYTES} bytes, not {length}", start)
        return self.text(self.take(length), start)

    def text(self, raw: bytes, start: int) -> str:
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError as err:
            self.fail(f"UTF-8 text ({err.reason})", start)

    def budget(self, values: int, start: int) -> None:
        self.values += values
        if self.values > MAX_VALUES:
            self.fail(f"at most {MAX_VALUES} members and items in one stream", start)

    # -- the stream

    def read(self) -> Any:
        kind = self.byte() if self.data else None
        if kind != 0:
            shown = "nothing" if kind is None else f"record type {kind}" + (
                f" ({_RECORD_NAMES[kind]})" if kind in _RECORD_NAMES else "")
            self.fail(f"it starts with {shown}, not a SerializationHeader", 0, UnsupportedFormat)
        root, _header, major, minor = (self.int32() for _ in range(4))
        if (major, minor) != (1, 0):
            self.fail(f"format version 1.0, not {major}.{minor}", 9, UnsupportedFormat)
        while True:
            start = self.pos
            value = self.record(0, top=True)
            if value is _END:
                break
            if isinstance(value, (_Ref, _Nulls)):
                self.fail("an object, a string or an array at the top level", start)
        if self.pos != len(self.data):
            self.fail(f"the end of the stream after MessageEnd, not {len(self.data) - self.pos} more bytes")
        self.resolve()
        if root not in self.objects:
            self.fail(f"the root object {root} the header names", 1)
        return self.objects[root]

    def resolve(self) -> None:
        """Replace every reference by its target (the targets are complete by now; cycles stay cycles)."""
        for holder in self.holders:
            keys = range(len(holder)) if isinstance(holder, list) else list(holder)
            for key in keys:
                ref = holder[key]
                if isinstance(ref, _Ref):
                    if ref.id not in self.objects:
                        self.fail(f"object {ref.id}, which a MemberReference names", ref.offset)
                    holder[key] = self.objects[ref.id]

    def remember(self, object_id: int, value: Any, start: int) -> None:
        if object_id in self.objects:
            self.fail(f"a new object id, not {object_id} again", start)
        self.objects[object_id] = value

    def record(self, depth: int, *, top: bool = False) -> Any:
        """One record's value (BinaryLibrary records before it are taken in passing)."""
        if depth > MAX_DEPTH:
            self.fail(f"records nested at most {MAX_DEPTH} deep")
        while True:
            start = self.pos
            kind = self.byte()
            self.records += 1
            if self.records > MAX_RECORDS:
                self.fail(f"at most {MAX_RECORDS} records", start)
            if kind != 12:
                break
            library = self.int32()
            self.libraries[library] = self.string()
        if kind in (1, 2, 3, 4, 5):
            return self.class_record(kind, depth, start)
        if kind == 6:
            object_id = self.int32()
            value = self.string()
            self.remember(object_id, value, start)
            return value
        if kind == 7:
            return self.binary_array(depth, start)
        if kind == 8:
            primitive = self.byte()
            return self.primitive(primitive, start)
        if kind == 9:
            return _Ref(self.int32(), start)
        if kind == 10:
            return None
        if kind == 11 and top:
            return _END
        if kind in (13, 14):
            nulls = self.byte() if kind == 13 else self.count("a null count", minimum=1)
            return _Nulls(nulls)
        if kind in (15, 16, 17):
            return self.single_array(kind, depth, start)
        name = f" ({_RECORD_NAMES[kind]})" if kind in _RECORD_NAMES else ""
        self.fail(f"a record this reader knows, not type {kind}{name}", start,
                  CorruptInput if kind in (0, 11) or kind > 22 else UnsupportedFormat)

    # -- classes

    def class_record(self, kind: int, depth: int, start: int) -> Any:
        object_id = self.int32()
        if kind == 1:
            metadata = self.int32()
            if metadata not in self.classes:
                self.fail(f"the class of object {metadata}, which ClassWithId {object_id} reuses", start)
            info = self.classes[metadata]
        else:
            name = self.string()
            members = [self.string() for _ in range(self.count("a member count"))]
            if kind in (4, 5):
                codes = [self.binary_type(self.byte()) for _ in members]
                types = [(code, self.additional_info(code)) for code in codes]
            else:
                types = [(_OBJECT, None)] * len(members)
            library = self.libraries.get(self.int32()) if kind in (3, 5) else None
            info = _ClassInfo(name, members, types, library)
            self.classes[object_id] = info
        obj = NrbfObject(class_name=info.name, library=info.library)
        self.remember(object_id, obj, start)
        self.budget(len(info.members), start)
        values = self.values_of([code for code, _ in info.types], [extra for _, extra in info.types],
                                len(info.members), depth)
        obj.update(zip(info.members, values))
        if any(isinstance(value, _Ref) for value in values):
            self.holders.append(obj)
        if list(obj) == ["value__"] and isinstance(obj["value__"], int):
            self.objects[object_id] = obj["value__"]   # an enum: its number
            return obj["value__"]
        return obj

    def binary_type(self, code: int) -> int:
        if code > _PRIMITIVE_ARRAY:
            self.fail(f"a member type 0-7, not {code}", self.pos - 1)
        return code

    def additional_info(self, code: int) -> Any:
        if code in (_PRIMITIVE, _PRIMITIVE_ARRAY):
            return self.primitive_type(self.byte())
        if code == _SYSTEM_CLASS:
            return self.string()
        if code == _CLASS:
            name = self.string()
            self.int32()   # the class's library id
            return name
        return None

    def primitive_type(self, code: int) -> int:
        if code not in _PRIMITIVE_TYPES:
            self.fail(f"a primitive type, not {code}", self.pos - 1)
        return code

    def values_of(self, codes: list[int], extras: list[Any], count: int, depth: int) -> list:
        """``count`` member or item values, the i-th of binary type ``codes[i]`` (the last code
        repeats, for arrays), taking ObjectNullMultiple records as that many nulls."""
        values: list = []
        while len(values) < count:
            index = min(len(values), len(codes) - 1)
            start = self.pos
            if codes[index] == _PRIMITIVE:
                values.append(self.primitive(extras[index], start))
                continue
            value = self.record(depth + 1)
            if isinstance(value, _Nulls):
                if value.count > count - len(values):
                    self.fail(f"at most {count - len(values)} nulls here, not {value.count}", start)
                values.extend([None] * value.count)
            else:
                values.append(value)
        return values

    # -- arrays

    def single_array(self, kind: int, depth: int, start: int) -> Any:
        object_id = self.int32()
        length = self.count("an array length")
        if kind == 15:
            primitive = self.primitive_type(self.byte())
            value = self.primitive_array(primitive, length, start)
        else:
            self.budget(length, start)   # not the bytes left: ObjectNullMultiple writes many nulls in few
            items: list = []
            self.remember(object_id, items, start)
            items.extend(self.values_of([_OBJECT], [None], length, depth))
            self.hold(items)
            return items
        self.remember(object_id, value, start)
        return value

    def binary_array(self, depth: int, start: int) -> Any:
        object_id = self.int32()
        shape = self.byte()
        if shape > 5:
            self.fail(f"an array shape 0-5, not {shape}", self.pos - 1)
        rank = self.count("a rank", minimum=1)
        if rank > 32:
            self.fail(f"a rank of at most 32, not {rank}", self.pos - 4)
        lengths = [self.count("an array length") for _ in range(rank)]
        if shape >= 3:
            self.take(4 * rank)   # lower bounds: the items are read all the same
        code = self.binary_type(self.byte())
        extra = self.additional_info(code)
        total = 1
        for length in lengths:
            total *= length
            if total > MAX_VALUES:
                self.fail(f"at most {MAX_VALUES} items in an array", start)
        if code == _PRIMITIVE:
            value = self.primitive_array(extra, total, start)
            self.remember(object_id, value, start)
            return value
        self.budget(total, start)
        items: list = []
        self.remember(object_id, items, start)
        items.extend(self.values_of([code], [extra], total, depth))
        self.hold(items)
        return items

    def primitive_array(self, primitive: int, length: int, start: int) -> bytes | list:
        fmt = _FIXED.get(primitive)
        self.room(length, struct.calcsize(fmt) if fmt else 1, start)
        if primitive == 2:
            return self.take(length)
        self.budget(length, start)
        return [self.primitive(primitive, start) for _ in range(length)]

    def room(self, items: int, size: int, start: int) -> None:
        left = len(self.data) - self.pos
        if items * size > left:
            self.fail(f"{items} items of at least {size} byte(s), {left} bytes left", start)

    def hold(self, items: list) -> None:
        if any(isinstance(item, _Ref) for item in items):
            self.holders.append(items)

    # -- primitives

    def primitive(self, code: int, start: int) -> Any:
        if code in _FIXED:
            value = self.unpack(_FIXED[code])
            if code == _TIMESPAN:
                return timedelta(microseconds=value // 10)
            if code == _DATETIME:
                return self.datetime(value, start)
            return value
        if code == _CHAR:
            first = self.data[self.pos] if self.pos < len(self.data) else 0
            size = 1 if first < 0x80 else 2 if first < 0xE0 else 3 if first < 0xF0 else 4
            return self.text(self.take(size), start)
        if code == _DECIMAL:
            text = self.string()
            try:
                return Decimal(text)
            except InvalidOperation:
                self.fail(f"a decimal number, not {text[:40]!r}", start)
        if code == _NULL:
            return None
        if code == _STRING_PRIMITIVE:
            return self.string()
        self.fail(f"a primitive type, not {code}", start)

    def datetime(self, value: int, start: int) -> datetime:
        """A DateTime: 62 bits of 100-ns ticks since 0001-01-01, 2 bits of kind (1 = UTC)."""
        ticks, kind = value & ((1 << 62) - 1), value >> 62
        if ticks > _TICKS_MAX:
            self.fail(f"a DateTime of at most {_TICKS_MAX} ticks, not {ticks}", start)
        moment = _EPOCH + timedelta(microseconds=ticks // 10)
        return moment.replace(tzinfo=timezone.utc) if kind == 1 else moment


_END = object()
