"""PowerShell's CliXml (what ``Export-Clixml`` writes) as Python values: one decoder for every reader.

A document is ``<Objs Version="1.1.0.1" xmlns="http://schemas.microsoft.com/powershell/2004/04">``
holding one element per exported object. An ``<Obj RefId="n">`` carries its type names
(``<TN RefId>`` the first time, ``<TNRef RefId>`` after), its ``<ToString>``, its members in
``<Props>`` (adapted) and ``<MS>`` (extended), and may wrap a list (``<LST>``, ``<IE>``,
``<STK>``, ``<QUE>``), a dictionary (``<DCT>`` of ``<En>`` key/value pairs) or a number (an
enum, beside the name in ``<ToString>``). ``<Ref RefId="n">`` stands for an object already
written. Primitives are typed: ``<S>``, ``<B>``, ``<I16>`` ... ``<U64>``, ``<DT>``, ``<BA>``
(base64), ``<Nil/>`` and more. Strings escape what XML cannot carry as ``_xHHHH_``
(``_x000D__x000A_`` for a line break, ``_x005F_`` for a literal ``_`` before ``x``).
Windows PowerShell 5.1 writes the file as UTF-16 LE with a BOM and CRLF line ends,
PowerShell 7 as UTF-8.

The values: an object is a :class:`ClixmlObject` (a dict of its members that keeps its type
names and ToString), a list a ``list``, a dictionary a ``dict`` (an object that wraps one is
that list or dict, as Format-List shows it: its type names and any members are not kept), an
enum a :class:`ClixmlEnum` (an ``int`` with its name), a date a :class:`ClixmlDateTime` (with
the offset it was written with, if any), ``<BA>`` ``bytes``, ``<Db>`` a float, ``<D>`` a
Decimal; types no reader interprets (``<TS>``, ``<G>``, ``<Version>`` ...) stay text.
:func:`shown` gives what Format-List would print. XML goes through defusedxml and nothing
is ever evaluated.

>>> doc = ('<Objs Version="1.1.0.1" xmlns="http://schemas.microsoft.com/powershell/2004/04">'
...        '<Obj RefId="0"><TN RefId="0"><T>Demo.Connector</T><T>System.Object</T></TN>'
...        '<ToString>Outbound</ToString><Props><S N="Name">Out_x000A_bound</S>'
...        '<Obj N="Servers" RefId="1"><LST><S>EX01</S><S>EX02</S></LST></Obj>'
...        '<Obj N="Level" RefId="2"><ToString>Verbose</ToString><I32>1</I32></Obj></Props></Obj>'
...        '<Obj RefId="3"><TNRef RefId="0" /><ToString>Second</ToString>'
...        '<Props><Ref N="Servers" RefId="1" /></Props></Obj></Objs>')
>>> first, second = (item.value for item in iter_items(doc, "connectors.xml"))
>>> first
{'Name': 'Out\\nbound', 'Servers': ['EX01', 'EX02'], 'Level': ClixmlEnum(1, 'Verbose')}
>>> first.types, first.to_string, first["Level"].name
(('Demo.Connector', 'System.Object'), 'Outbound', 'Verbose')
>>> second["Servers"] is first["Servers"], shown(first["Level"])
(True, 'Verbose')
"""

from __future__ import annotations

import base64
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal, InvalidOperation
from typing import Any, BinaryIO, NamedTuple, Self, TextIO
from xml.etree.ElementTree import Element, ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import iterparse

from exlab.errors import CorruptInput
from exlab.text_encoding import declared_encoding, has_declaration, text_codec, xml_codec
from exlab.xml_stream import MarkupAlignedReader

PS_NS = "http://schemas.microsoft.com/powershell/2004/04"
#: what a CorruptInput from this module says was expected
EXPECTED = "well-formed CliXml, as Export-Clixml writes it"
#: deeper nesting of objects is refused (Export-Clixml's default -Depth is 2): no reader recurses without end
MAX_DEPTH = 100

_Q = "{" + PS_NS + "}"
_ESCAPE = re.compile(r"_x([0-9A-Fa-f]{4})_")
_DT = re.compile(r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,7}))?(Z|[+-]\d{2}:\d{2})?")
_INTEGERS = frozenset({"By", "SB", "I16", "U16", "I32", "U32", "I64", "U64"})
_LISTS = frozenset({"LST", "IE", "STK", "QUE"})
_EPOCH_DAY = date(1970, 1, 1).toordinal()
_EXPAT_CODECS = frozenset({"utf-8", "utf-16-le", "utf-16-be"})   # read by expat from the bytes


class ClixmlObject(dict):
    """An ``<Obj>``: a dict of its members (``<Props>`` and ``<MS>``) by name, with its type
    names (most derived first), its ``<ToString>`` (None when not written) and, for an object
    read with ``partial=True``, the members that could not be read (name -> why).

    >>> obj = ClixmlObject({"Name": "EX01"}, types=("Demo.Server", "System.Object"), to_string="EX01")
    >>> obj["Name"], obj.types[0], obj.to_string, obj.errors
    ('EX01', 'Demo.Server', 'EX01', {})
    """

    __slots__ = ("errors", "to_string", "types")

    def __init__(self, members: Any = (), *, types: tuple[str, ...] = (), to_string: str | None = None) -> None:
        super().__init__(members)
        self.types = tuple(types)
        self.to_string = to_string
        self.errors: dict[str, str] = {}


class ClixmlEnum(int):
    """An enum value: its number, and its name as PowerShell wrote it in ``<ToString>``
    (flags joined by ``, ``).

    >>> services = ClixmlEnum(24, "IIS, SMTP")
    >>> services & 16, services.name
    (16, 'IIS, SMTP')
    """

    name: str

    def __new__(cls, number: int, name: str = "") -> Self:
        value = super().__new__(cls, number)
        value.name = name
        return value

    def __repr__(self) -> str:
        return f"ClixmlEnum({int(self)}, {self.name!r})"


class ClixmlDateTime(NamedTuple):
    """A ``<DT>`` value: the moment in nanoseconds since the epoch (UTC; a value written without
    an offset, .NET's DateTimeKind.Unspecified, is taken as UTC) and the offset written with it
    in minutes east of UTC (None when there was none).

    >>> moment = parse_datetime("2025-03-20T14:15:04.1234567+01:00")
    >>> moment.offset, str(moment), str(parse_datetime("2025-03-20T14:15:04"))
    (60, '2025-03-20T14:15:04.123456+01:00', '2025-03-20T14:15:04')
    """

    nanoseconds: int
    offset: int | None

    def to_datetime(self) -> datetime:
        """The wall time as written, to the microsecond: aware with its offset, naive without one.

        >>> parse_datetime("0001-01-01T00:00:00").to_datetime()
        datetime.datetime(1, 1, 1, 0, 0)
        """
        wall = self.nanoseconds + (self.offset or 0) * 60_000_000_000
        moment = datetime(1970, 1, 1) + timedelta(microseconds=wall // 1000)
        return moment if self.offset is None else moment.replace(tzinfo=timezone(timedelta(minutes=self.offset)))

    def __str__(self) -> str:
        return self.to_datetime().isoformat()


@dataclass(frozen=True)
class Item:
    """One element of the document's ``<Objs>``: its place (1 for the first), its tag, and its
    value, or why it could not be read at all (then ``value`` is None)."""

    position: int
    tag: str
    value: Any
    error: str | None = None


def iter_items(source: BinaryIO | str, name: str) -> Iterator[Item]:
    """The top-level values of a CliXml document, read as a stream, one :class:`Item` each.

    ``source`` is the file's bytes as a binary stream (in the encoding its BOM or XML
    declaration names, UTF-8 otherwise; one that names no text encoding raises
    :class:`~exlab.errors.UnsupportedEncoding`) or its text, handed to the parser a whole tag at a time
    (:class:`~exlab.xml_stream.MarkupAlignedReader`: linear time, any one tag or text at most
    :data:`exlab.limits.MAX_FIELD`, else :class:`~exlab.limits.OverLimit`). Objects are read with ``partial=True``: a member that cannot
    be read is left out and named in the object's ``errors``; anything else that cannot be
    read makes the item's ``error``. A document whose root is not ``<Objs>``, or whose XML
    breaks off, raises :class:`~exlab.errors.CorruptInput` naming ``name`` and the place
    (the items before the break have been yielded by then).

    >>> import io
    >>> doc = f'<Objs xmlns="{PS_NS}"><S>a_x000D__x000A_b</S><I32>x</I32></Objs>'
    >>> [(i.position, i.tag, i.value, i.error) for i in iter_items(io.BytesIO(doc.encode("utf-16")), "a.xml")]
    [(1, 'S', 'a\\r\\nb', None), (2, 'I32', None, "<I32> 'x' is not an integer")]
    >>> list(iter_items(doc[:70], "cut.xml"))   # doctest: +ELLIPSIS
    Traceback (most recent call last):
    exlab.errors.CorruptInput: cut.xml, line 1 column 70: expected well-formed CliXml, ... (no element found: ...)
    """
    text = _text_stream(source, name)
    try:
        yield from _items(MarkupAlignedReader(source if text is None else text, name), name)
    finally:
        if isinstance(text, io.TextIOWrapper):
            text.detach()   # the caller's stream stays open


def _text_stream(source: BinaryIO | str, name: str) -> TextIO | None:
    """``source`` as text for the parser, or None when expat reads its bytes itself (UTF-8 or
    UTF-16 without an XML declaration, as Export-Clixml writes it: expat never sees a declared
    encoding). Its byte order mark and XML declaration must name a text encoding
    (:func:`exlab.text_encoding.xml_codec`, else UnsupportedEncoding)."""
    if isinstance(source, str):
        label = declared_encoding(source)
        if label is not None:
            text_codec(label, name)
        return io.StringIO(source.removeprefix("\ufeff"))
    start = source.tell()
    head = source.read(4096)
    codec, bom = xml_codec(head, name)
    if codec in _EXPAT_CODECS and not has_declaration(head):
        source.seek(start)
        return None
    source.seek(start + bom)
    return io.TextIOWrapper(source, encoding=codec, errors="replace")


def _items(stream: MarkupAlignedReader, name: str) -> Iterator[Item]:
    decoder = Decoder()
    root: Element | None = None
    depth = position = 0
    try:
        for action, element in iterparse(stream, events=("start", "end")):
            if action == "start":
                depth += 1
                if root is None:
                    root = element
                    if _local(element.tag) != "Objs":
                        raise CorruptInput(name, "the root element", f'<Objs xmlns="{PS_NS}"> (Export-Clixml)',
                                           f"found <{element.tag}>")
                continue
            depth -= 1
            if depth != 1:
                continue
            position += 1
            try:
                item = Item(position, _local(element.tag), decoder.value(element, partial=True))
            except ValueError as err:
                item = Item(position, _local(element.tag), None, str(err))
            root.clear()
            yield item
    except (ParseError, DefusedXmlException) as err:
        place = getattr(err, "position", None)
        where = ", ".join(([f"line {place[0]} column {place[1]}"] if place else [])
                          + ([f"after object {position}"] if position else [])) or "the start"
        raise CorruptInput(name, where, EXPECTED, str(err)) from None


class Decoder:
    """Turns the elements of one CliXml document into values, in document order, remembering
    the objects (``<Obj RefId>``) and type-name lists (``<TN RefId>``) later ones refer to.

    >>> from defusedxml.ElementTree import fromstring
    >>> decoder = Decoder()
    >>> decoder.value(fromstring(f'<DT xmlns="{PS_NS}">2025-03-20T13:15:04Z</DT>'))
    ClixmlDateTime(nanoseconds=1742476504000000000, offset=0)
    """

    def __init__(self) -> None:
        self._objects: dict[str, Any] = {}
        self._types: dict[str, tuple[str, ...]] = {}

    def value(self, element: Element, *, partial: bool = False) -> Any:
        """The value of one element. Raises ``ValueError`` naming what could not be read;
        with ``partial``, a member of this element's own object that cannot be read is left
        out and named in the object's ``errors`` instead."""
        return self._value(element, 0, partial)

    def _value(self, element: Element, depth: int, partial: bool = False) -> Any:
        tag = _local(element.tag)
        if tag == "Obj":
            return self._object(element, depth, partial)
        if tag == "Ref":
            ref = element.get("RefId")
            if ref not in self._objects:
                raise ValueError(f"<Ref RefId={ref!r}> points at no earlier object")
            return self._objects[ref]
        return _primitive(tag, element.text or "")

    def _object(self, element: Element, depth: int, partial: bool) -> Any:
        if depth >= MAX_DEPTH:
            raise ValueError(f"objects nested deeper than {MAX_DEPTH} levels")
        types: tuple[str, ...] = ()
        to_string: str | None = None
        content: Element | None = None
        members: list[Element] = []
        for child in element:
            tag = _local(child.tag)
            if tag == "TN":
                types = tuple(decode_string(t.text or "") for t in child if _local(t.tag) == "T")
                if child.get("RefId") is not None:
                    self._types[child.get("RefId")] = types
            elif tag == "TNRef":
                if child.get("RefId") not in self._types:
                    raise ValueError(f"<TNRef RefId={child.get('RefId')!r}> points at no earlier type names")
                types = self._types[child.get("RefId")]
            elif tag == "ToString":
                to_string = decode_string(child.text or "")
            elif tag in ("Props", "MS"):
                members.extend(child)
            elif content is None:
                content = child
        ref = element.get("RefId")
        kind = None if content is None else _local(content.tag)
        if kind in _LISTS or kind == "DCT":
            return self._container(content, kind, ref, depth)
        if content is not None and not members:
            value = self._value(content, depth + 1)
            if isinstance(value, int) and not isinstance(value, bool):
                value = ClixmlEnum(value, to_string or "")
            self._remember(ref, value)
            return value
        obj = ClixmlObject(types=types, to_string=to_string)
        self._remember(ref, obj)   # before its members, which may refer back to it
        for index, member in enumerate(members, 1):
            name = member.get("N")
            try:
                if name is None:
                    raise ValueError(f"member {index} <{_local(member.tag)}> has no N attribute")
                obj[decode_string(name)] = self._value(member, depth + 1)
            except ValueError as err:
                if not partial:
                    raise
                obj.errors[decode_string(name) if name is not None else f"member {index}"] = str(err)
        return obj

    def _container(self, element: Element, kind: str, ref: str | None, depth: int) -> list | dict:
        if kind != "DCT":
            items: list = []
            self._remember(ref, items)
            items.extend(self._value(child, depth + 1) for child in element)
            return items
        entries: dict = {}
        self._remember(ref, entries)
        for number, entry in enumerate(element, 1):
            pair = {child.get("N"): child for child in entry}
            if "Key" not in pair or "Value" not in pair:
                raise ValueError(f"<DCT> entry {number} lacks its Key or Value")
            key = self._value(pair["Key"], depth + 1)
            if isinstance(key, (dict, list)):
                raise ValueError(f"<DCT> entry {number} has an object for a key")
            entries[key] = self._value(pair["Value"], depth + 1)
        return entries

    def _remember(self, ref: str | None, value: Any) -> None:
        if ref is not None:
            self._objects[ref] = value


def shown(value: Any) -> Any:
    """A value as Format-List would show it: an object with a ``<ToString>`` as that text, an
    enum as its name, lists and dictionaries item by item, an object without ToString as a
    plain dict of its members shown. Raises ``ValueError`` on an object that contains itself.

    >>> shown([ClixmlObject({"Domain": "mail.contoso.com"}, to_string="mail.contoso.com"), ClixmlEnum(4, "UM")])
    ['mail.contoso.com', 'UM']
    >>> shown(ClixmlObject({"Cost": ClixmlEnum(1)}))
    {'Cost': 1}
    """
    return _shown(value, set())


def _shown(value: Any, path: set[int]) -> Any:
    if isinstance(value, ClixmlEnum):
        return value.name or int(value)
    if isinstance(value, ClixmlObject) and value.to_string is not None:
        return value.to_string
    if not isinstance(value, (list, dict)):
        return value
    if id(value) in path:
        raise ValueError("an object that contains itself (a reference loop)")
    path.add(id(value))
    try:
        if isinstance(value, list):
            return [_shown(item, path) for item in value]
        return {key: _shown(item, path) for key, item in value.items()}
    finally:
        path.discard(id(value))


def decode_string(text: str) -> str:
    """A CliXml string with its ``_xHHHH_`` escapes undone (surrogate pairs joined).

    >>> decode_string("Line_x000D__x000A_two_x005F_x and _xD83D__xDE00_")
    'Line\\r\\ntwo_x and \U0001f600'
    """
    if "_x" not in text:
        return text
    decoded = _ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), text)
    return decoded.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")


def encode_string(text: str) -> str:
    """A string as CliXml writes it: control characters, lone surrogates and ``_x`` escaped.

    >>> encode_string("Line\\r\\ntwo_x")
    'Line_x000D__x000A_two_x005F_x'
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


def parse_datetime(text: str) -> ClixmlDateTime:
    """A ``<DT>`` value (ISO 8601, up to 7 fraction digits, with or without an offset).

    >>> parse_datetime("2025-03-20T14:15:04+01:00")
    ClixmlDateTime(nanoseconds=1742476504000000000, offset=60)
    >>> parse_datetime("2025-03-20T13:15:04.5").nanoseconds - 1742476504000000000
    500000000
    """
    match = _DT.fullmatch(text.strip())
    if match is None:
        raise ValueError(f"<DT> {text!r} is not an ISO 8601 date and time")
    year, month, day, hour, minute, second = (int(g) for g in match.groups()[:6])
    fraction, zone = match.group(7) or "", match.group(8)
    try:
        wall = datetime(year, month, day, hour, minute, second)
    except ValueError as err:
        raise ValueError(f"<DT> {text!r} is not a valid date ({err})") from None
    offset = None
    if zone is not None:
        hours, minutes = (0, 0) if zone == "Z" else (int(zone[1:3]), int(zone[4:6]))
        if minutes > 59 or hours * 60 + minutes > 14 * 60:
            raise ValueError(f"<DT> {text!r} has an offset beyond 14:00")
        offset = (-1 if zone[0] == "-" else 1) * (hours * 60 + minutes)
    seconds = (wall.toordinal() - _EPOCH_DAY) * 86_400 + hour * 3600 + minute * 60 + second - (offset or 0) * 60
    return ClixmlDateTime(seconds * 1_000_000_000 + int(fraction.ljust(9, "0")), offset)


def _primitive(tag: str, text: str) -> Any:
    """A value element other than ``<Obj>`` and ``<Ref>``; a type exlab does not interpret
    (``<TS>``, ``<G>``, ``<Version>``, ``<URI>`` ...) is kept as its text."""
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
        flag = text.strip().lower()
        if flag not in ("true", "false", "1", "0"):
            raise ValueError(f"<B> {text!r} is not true or false")
        return flag in ("true", "1")
    if tag == "DT":
        return parse_datetime(text)
    if tag == "BA":
        try:
            return base64.b64decode("".join(text.split()), validate=True)
        except ValueError:
            raise ValueError(f"<BA> is not base64: {text[:40]!r}") from None
    if tag in ("Db", "Sg", "D", "C"):
        try:
            return float(text) if tag in ("Db", "Sg") else Decimal(text.strip()) if tag == "D" else chr(int(text))
        except (ValueError, InvalidOperation, OverflowError):
            raise ValueError(f"<{tag}> {text!r} is not a number") from None
    return decode_string(text)


def _local(tag: str) -> str:
    """The element's name without PowerShell's namespace (a name in another namespace stays whole)."""
    return tag.removeprefix(_Q)
