"""The pure-Python .evtx engine: python-evtx (``Evtx``), over every chunk the file holds.

python-evtx's own iterator trusts the header's chunk count and stops at the first
bad record; here each chunk comes from the shared walk and each record from the
shared record-header walk, and a record python-evtx cannot parse is counted and
skipped.

python-evtx parses the BinXml (template, substitution values with their types);
this module renders it into an element tree itself, writing each value the way
pyevtx-rs does (hex ``0x3e7``, upper-case GUIDs and binary, ``true``/``false``,
string arrays as repeated elements) rather than through ``record.xml()``, whose
text would need parsing again and writes values differently. So both engines
agree value for value. No XML text is produced or parsed.

>>> import io
>>> from exlab.events.evtx_layout import build_file_header
>>> from exlab.events.query import EventQuery
>>> from exlab.evidence import open_evidence
>>> from exlab.events import evtx_format
>>> from exlab.parse_report import ParseReport
>>> report = ParseReport().add_file("x.evtx", sha256="", format="evtx")
>>> blank = open_evidence(io.BytesIO(build_file_header(chunk_count=0)))
>>> evtx_format.read_columns(blank, EventQuery.build(engine="python-evtx"), report)["data"], report.engine
([], 'python-evtx')
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta, timezone
from xml.etree.ElementTree import Element, SubElement

from Evtx import Nodes as nodes
from Evtx.BinaryParser import ParseException
from Evtx.Evtx import ChunkHeader

from exlab.events.evtx_event import element_to_event, event_fields
from exlab.events.evtx_format import ChunkContext, keep
from exlab.events.evtx_layout import FILETIME_EPOCH, RECORD_HEADER_SIZE, template_instance

ENGINE = "python-evtx"

_SUBSTITUTIONS = (nodes.NormalSubstitutionNode, nodes.ConditionalSubstitutionNode)
_STRUCTURE = (nodes.CloseStartElementNode, nodes.CloseEmptyElementNode, nodes.CloseElementNode,
              nodes.EndOfStreamNode)
_ENTITIES = {"amp": "&", "lt": "<", "gt": ">", "quot": '"', "apos": "'"}


def read_chunks(contexts: Iterable[ChunkContext], out: list[tuple]) -> None:
    """Append a record tuple (``evtx_format.RECORD_COLUMNS``) per kept record to ``out``."""
    for context in contexts:
        _read_chunk(context, out)


def _read_chunk(context: ChunkContext, out: list[tuple]) -> None:
    data = context.slot.data
    renderer = ChunkRenderer(data)
    walk = context.walk
    query = context.query
    for index, header in enumerate(walk.records):
        try:
            event = element_to_event(renderer.event(header.offset + RECORD_HEADER_SIZE))
        except Exception as err:  # noqa: BLE001 - python-evtx raises anything on damaged BinXml
            context.report.skip_record(context.where(header), f"python-evtx: {type(err).__name__}: {err}")
            continue
        context.report.records_read += 1
        context.read_numbers.append(header.number)
        fields = event_fields(event)
        if not keep(query, fields):
            continue
        time_ns = context.time_created(index, event)
        if query.wants_time(time_ns):
            out.append((time_ns, *fields, header.number, context.digest(header.number)))
    if walk.stop_reason:
        where = f"{context.slot.where}, record header at offset {context.slot.offset + walk.stop_offset:#x}"
        if walk.records:
            context.report.skip_record(where, f"{walk.stop_reason}; the rest of the chunk is unreadable")
        else:         # not one record of the chunk could be read: the chunk is lost
            context.report.skip_chunk(where, f"{walk.stop_reason}; no record of the chunk is readable")


class ChunkRenderer:
    """Renders the records of one chunk from python-evtx's nodes into elements.

    python-evtx parses each template again for every record that uses it; here a
    template's nodes are parsed once per chunk, and per record only its substitution
    values are (by python-evtx's own value parsers).
    """

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.chunk = ChunkHeader(data, 0)
        self._templates: dict[int, list] = {}

    def event(self, fragment: int) -> Element:
        """The ``<Event>`` element of the BinXml fragment at chunk offset ``fragment``."""
        holder = Element("record")
        self._render(fragment, holder)
        if len(holder) != 1:
            raise ValueError(f"{len(holder)} root elements, expected one <Event>")
        return holder[0]

    def _render(self, fragment: int, parent: Element) -> None:
        instance = template_instance(self.data, fragment)
        if instance is None:
            raise ValueError(f"no template instance at chunk offset {fragment:#x}")
        definition, values = instance
        children = self._templates.get(definition)
        if children is None:
            children = self._templates[definition] = \
                nodes.TemplateNode(self.data, definition, self.chunk, self.chunk).children()
        substitutions = self._values(values)
        for node in children:
            self._add(node, parent, substitutions)

    def _values(self, offset: int) -> list:
        data, chunk = self.data, self.chunk
        count = int.from_bytes(data[offset:offset + 4], "little")
        descriptors = [(int.from_bytes(data[d:d + 2], "little"), data[d + 2])
                       for d in range(offset + 4, offset + 4 + 4 * count, 4)]
        position = offset + 4 + 4 * count
        values = []
        for size, kind in descriptors:
            value = nodes.get_variant_value(data, position, chunk, chunk, kind, length=size)
            if abs(size - value.length()) > 4:   # python-evtx's own sanity check
                raise ParseException("Invalid substitution value size")
            values.append(value)
            position += size
        return values

    def _add(self, node, parent: Element, substitutions: list) -> None:
        if isinstance(node, nodes.OpenStartElementNode):
            attributes: dict[str, str] = {}
            content = []
            for child in node.children():
                if isinstance(child, nodes.AttributeNode):
                    value = _attribute_value(child.attribute_value(), substitutions)
                    if value is not None:
                        attributes[child.attribute_name().string()] = value
                elif not isinstance(child, _STRUCTURE):
                    content.append(child)
            items = _array_content(content, substitutions)
            if items is not None:      # one element per item, as pyevtx-rs expands arrays
                for item in items or [None]:
                    SubElement(parent, node.tag_name(), attributes).text = item
                return
            element = SubElement(parent, node.tag_name(), attributes)
            for child in content:
                self._add(child, element, substitutions)
        elif isinstance(node, _SUBSTITUTIONS):
            value = substitutions[node.index()]
            if isinstance(value, nodes.BXmlTypeNode):
                self._render(value.offset(), parent)
            else:
                _append_text(parent, value_text(value))
        elif isinstance(node, nodes.ValueNode):
            _append_text(parent, node.children()[0].string())
        elif isinstance(node, nodes.CDataSectionNode):
            _append_text(parent, node.cdata())
        elif isinstance(node, nodes.CharacterReferenceNode):
            _append_text(parent, chr(node.entity()))
        elif isinstance(node, nodes.EntityReferenceNode):
            name = node.entity_reference().strip("&;")
            _append_text(parent, _ENTITIES.get(name, f"&{name};"))


def _attribute_value(node, substitutions: list) -> str | None:
    if isinstance(node, _SUBSTITUTIONS):
        return value_text(substitutions[node.index()])
    if isinstance(node, nodes.ValueNode):
        return node.children()[0].string()
    return None


def _array_content(content: list, substitutions: list) -> list[str] | None:
    if len(content) != 1 or not isinstance(content[0], _SUBSTITUTIONS):
        return None
    value = substitutions[content[0].index()]
    return _string_items(value) if isinstance(value, nodes.WstringArrayTypeNode) else None


def _string_items(value: nodes.WstringArrayTypeNode) -> list[str]:
    items = value.binary().decode("utf-16-le", "surrogatepass").split("\x00")
    if items and items[-1] == "":
        items.pop()
    return items


def _append_text(parent: Element, text: str | None) -> None:
    if text is None:
        return
    if len(parent):
        parent[-1].tail = (parent[-1].tail or "") + text
    else:
        parent.text = (parent.text or "") + text


def value_text(value) -> str | None:
    """One substitution value as pyevtx-rs writes it; None for a null value."""
    if isinstance(value, nodes.NullTypeNode):
        return None
    if isinstance(value, nodes.BooleanTypeNode):
        return "true" if value.int32() else "false"
    if isinstance(value, nodes.BinaryTypeNode):
        return value.binary().hex().upper()
    if isinstance(value, nodes.GuidTypeNode):
        return value.guid().upper()
    if isinstance(value, nodes.SizeTypeNode):
        return f"{value.num():#x}"
    if isinstance(value, (nodes.Hex32TypeNode, nodes.Hex64TypeNode)):
        return f"{int.from_bytes(value.hex(), 'little'):#x}"
    if isinstance(value, nodes.FiletimeTypeNode):
        return _filetime_text(value.unpack_qword(0))
    if isinstance(value, nodes.WstringArrayTypeNode):
        return ",".join(_string_items(value))
    return value.string()


def _filetime_text(filetime: int) -> str:
    """pyevtx-rs's rendering of a FILETIME: microseconds, ``Z``."""
    micros = (filetime - FILETIME_EPOCH) // 10
    stamp = datetime(1970, 1, 1, tzinfo=timezone.utc) + timedelta(microseconds=micros)
    return stamp.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
