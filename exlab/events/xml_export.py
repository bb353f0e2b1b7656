"""Event XML exports: Event Viewer's "Save as XML" and ``wevtutil qe ... /f:xml``.

Event Viewer writes ``<?xml version="1.0" encoding="utf-8" standalone="yes"?>`` and an
``<Events>`` root holding ``<Event xmlns='http://schemas.microsoft.com/win/2004/08/events/event'>``
elements back to back, each with a ``RenderingInfo`` (the message, level, task and
keyword names in the server's language, ``Culture='pl-PL'``). ``wevtutil qe`` writes the
``<Event>`` elements with no root and no declaration (UTF-8), with ``RenderingInfo``
only for ``/f:RenderedXml``. Both are read here, in UTF-8 or UTF-16 with a BOM, or in the
text encoding the XML declaration names (:func:`exlab.text_encoding.xml_codec`).

The file is streamed: each ``<Event>...</Event>`` is cut out of the text and parsed on
its own (with defusedxml), so a damaged event is skipped and counted while the others
are read, and a truncated export keeps everything before the cut. Line breaks inside
values read as ``\\n`` (XML normalises ``\\r\\n``).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import TextIO
from xml.etree.ElementTree import Element, ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring

from exlab import limits
from exlab.errors import UnsupportedEncoding
from exlab.events.query import EventQuery
from exlab.events.system_time import parse_system_time
from exlab.events.text_stream import Sniffed, decode_head, open_text, sniff_encoding
from exlab.evidence import Evidence
from exlab.parse_report import FileReport
from exlab.text_encoding import xml_codec
from exlab.value_ranges import ascii_digits

FORMAT = "event-xml"
EVENT_NS = "http://schemas.microsoft.com/win/2004/08/events/event"

_BLOCK = limits.BLOCK
_EVENT_START = re.compile(r"<Event[\s>/]")
_EVENT_END = "</Event>"
_EVENT_BOUNDARY = re.compile(r"</Event>|<Event[\s>/]")
_START_TAG_TAIL = 4096   # how far back from the end of a read a cut start tag is looked for
# The filters' look at an event's text before it is parsed (_may_want). A tag's attributes are
# looked through for at most _ATTRIBUTES characters: unbounded, a text of many unclosed
# "<Provider " took minutes (each start scanned on to the end); a longer tag is left to the parse.
_ATTRIBUTES = 256
_EVENT_ID = re.compile(rf"<EventID(?:\s[^>]{{0,{_ATTRIBUTES}}})?>\s*(\d+)\s*</EventID>")
_PROVIDER = re.compile(rf"<Provider\s[^>]{{0,{_ATTRIBUTES}}}?\bName=(['\"])(.*?)\1")
_TIME_CREATED = re.compile(rf"<TimeCreated\s[^>]{{0,{_ATTRIBUTES}}}?\bSystemTime=(['\"])(.*?)\1")
_PROLOGUE = re.compile(r"\s*(?:<\?xml[^>]*\?>\s*)?(?:<!--.*?-->\s*)*<(Events?)[\s>/]", re.S)


def detect(head: bytes) -> bool:
    """Whether the file is an event XML export: an ``<Events>`` root or ``<Event>`` elements.

    >>> detect(b'<?xml version="1.0" encoding="utf-8" standalone="yes"?>\\r\\n<Events><Event xmlns=')
    True
    >>> detect("<Event xmlns='http://schemas.microsoft.com/win/2004/08/events/event'>".encode("utf-16"))
    True
    >>> detect(b'<?xml version="1.0"?><Objs Version="1.1.0.1">')
    False
    """
    try:
        sniffed = Sniffed(*xml_codec(head, ""))
    except UnsupportedEncoding:
        sniffed = sniff_encoding(head)   # read() names the encoding refused
    text = decode_head(head, sniffed)
    match = _PROLOGUE.match(text)
    if match is None:
        return False
    return match.group(1) == "Events" or EVENT_NS in text


def read(evidence: Evidence, query: EventQuery, report: FileReport) -> Iterator[dict]:
    """Yield the events of the export as event rows; damaged events are skipped and counted.

    >>> import io
    >>> from exlab.events.query import EventQuery
    >>> from exlab.events.system_time import format_system_time
    >>> from exlab.evidence import iter_evidence
    >>> from exlab.parse_report import ParseReport
    >>> xml = (b"<Event xmlns='http://schemas.microsoft.com/win/2004/08/events/event'><System>"
    ...     b"<Provider Name='MSExchangeTransport'/><EventID Qualifiers='16388'>2004</EventID>"
    ...     b"<Level>4</Level><Task>2</Task><Keywords>0x80000000000000</Keywords>"
    ...     b"<TimeCreated SystemTime='2025-03-20T13:15:04.1234567Z'/><EventRecordID>88</EventRecordID>"
    ...     b"<Channel>Application</Channel><Computer>EX01.contoso.com</Computer><Security/></System>"
    ...     b"<EventData><Data>Outbound to Office 365</Data><Data></Data></EventData></Event>")
    >>> ev = next(iter_evidence(io.BytesIO(xml)))
    >>> report = ParseReport().add_file(ev.name, sha256=ev.sha256, format=FORMAT)
    >>> [row] = read(ev, EventQuery.build(), report)
    >>> row["event_id"], row["qualifiers"], row["record_id"], row["data"]
    (2004, 16388, 88, {'%1': 'Outbound to Office 365', '%2': ''})
    >>> format_system_time(row["time_created"])
    '2025-03-20T13:15:04.1234567Z'
    """
    sniffed = Sniffed(*xml_codec(evidence.head(64 * 1024), evidence.name))
    with open_text(evidence.stream, sniffed, newline=None) as text:
        for line, chunk, problem in _event_texts(text):
            if problem is not None:
                report.skip_record(f"line {line}", problem)
                continue
            if not _may_want(chunk, query):
                report.records_read += 1
                continue
            try:
                element = fromstring(chunk)
            except (ParseError, DefusedXmlException) as err:
                report.skip_record(f"line {line}", f"event is not well-formed XML ({err})")
                continue
            try:
                row = _row(element, evidence.name, query)
            except ValueError as err:
                report.skip_record(f"line {line}", str(err))
                continue
            report.records_read += 1
            if row is not None:
                yield row


def _may_want(chunk: str, query: EventQuery) -> bool:
    """False when the event's text alone shows the query does not want it (no XML parsing)."""
    if query.event_ids is not None:
        found = _EVENT_ID.search(chunk)
        if found is not None and not query.wants_event_id(int(found.group(1)) & 0xFFFF):
            return False
    if query.providers is not None:
        found = _PROVIDER.search(chunk)
        if found is not None and "&" not in found.group(2) and not query.wants_provider(found.group(2)):
            return False
    if query.has_time_range:
        found = _TIME_CREATED.search(chunk)
        if found is not None:
            try:
                return query.wants_time(parse_system_time(found.group(2)))
            except ValueError:
                return True  # the full parse reports it
    return True


def _event_texts(text: TextIO, cap: int | None = None) -> Iterator[tuple[int, str, str | None]]:
    """Cut ``<Event ...>...</Event>`` out of the text: (line it starts on, its text, None), or
    (line, text, why it is incomplete) for an event without its end tag before the next event
    or the end of the text, for markup left after the last event (a cut-off start tag), and
    (line, "", why) for an event longer than ``cap`` characters (default :data:`exlab.limits.MAX_RECORD`),
    which is read through, not held.

    Linear: each search resumes where the last one stopped, and reads grow with what is held.

    >>> import io
    >>> [(line, problem) for line, _, problem in _event_texts(io.StringIO("<Event>a</Event>\\n<Event>" + "b" * 99), 50)]
    [(1, None), (2, 'event longer than 50 characters (more than exlab holds of one event)')]
    """
    cap = limits.MAX_RECORD if cap is None else cap
    buffer, pos, scan, line, eof = "", 0, 0, 1, False
    in_event = oversized = False
    while True:
        if not in_event:
            start = _EVENT_START.search(buffer, scan)
            if start is None:
                if eof:
                    tail = buffer[pos:].replace("</Events>", "").strip()
                    if tail:
                        yield (line + buffer.count("\n", pos, buffer.find(tail[0], pos)), tail,
                               "event cut off: no </Event> before the end of the file (truncated or damaged export)")
                    return
                opening = buffer.rfind("<", max(pos, len(buffer) - _START_TAG_TAIL))  # a tag cut by this read
                keep = opening if opening != -1 and ">" not in buffer[opening:] else len(buffer)
                line += buffer.count("\n", pos, keep)
                more = text.read(_BLOCK)
                buffer, pos, scan, eof = buffer[keep:] + more, 0, 0, not more
                continue
            line += buffer.count("\n", pos, start.start())
            pos, scan, in_event = start.start(), start.start() + 1, True
        found = _EVENT_BOUNDARY.search(buffer, scan)
        if found is None and not eof:
            if len(buffer) - pos > cap and not oversized:
                oversized, first_line = True, line
            if oversized:   # read through, holding only what a cut end tag needs
                keep = max(pos, len(buffer) - len(_EVENT_END))
                line += buffer.count("\n", pos, keep)
                buffer, pos = buffer[keep:], 0
            more = text.read(max(_BLOCK, len(buffer) - pos))   # grows with the event: copies stay linear
            scan = max(pos + 1, len(buffer) - len(_EVENT_END)) - pos
            buffer, pos, eof = buffer[pos:] + more, 0, not more
            continue
        stop = len(buffer) if found is None else found.end() if found.group() == _EVENT_END else found.start()
        if oversized or stop - pos > cap:
            yield (first_line if oversized else line), "", (f"event longer than {cap} characters "
                                                            "(more than exlab holds of one event)")
        elif found is None or found.group() != _EVENT_END:
            yield line, buffer[pos:stop], ("event cut off: no </Event> before the next event or the end "
                                           "of the file (truncated or damaged export)")
        else:
            yield line, buffer[pos:stop], None
        line += buffer.count("\n", pos, stop)
        pos = scan = stop
        in_event = oversized = False
        if found is None:
            return


def _local(tag: str) -> str:
    return tag[tag.rfind("}") + 1:]


def _children(parent: Element | None) -> dict[str, Element]:
    """The children of an element by local name (the first of a repeated name wins)."""
    if parent is None:
        return {}
    children: dict[str, Element] = {}
    for child in parent:
        children.setdefault(_local(child.tag), child)
    return children


def _child(parent: Element | None, name: str) -> Element | None:
    return _children(parent).get(name)


def _int(element: Element | None, what: str) -> int | None:
    if element is None or element.text is None or not element.text.strip():
        return None
    try:
        return int(element.text.strip())
    except ValueError:
        raise ValueError(f"{what} {element.text.strip()!r} is not a number") from None


def _text(element: Element | None) -> str | None:
    return None if element is None else (element.text or "")


def _row(event: Element, source: str, query: EventQuery) -> dict | None:
    """The event row of one ``<Event>``, None when the query does not want it."""
    if _local(event.tag) != "Event":
        raise ValueError(f"expected an <Event> element, found <{_local(event.tag)}>")
    parts = _children(event)
    if "System" not in parts:
        raise ValueError("the event has no <System> element")
    system = _children(parts["System"])
    provider = system["Provider"].get("Name") if "Provider" in system else None
    event_id = _int(system.get("EventID"), "EventID")
    if event_id is None:
        raise ValueError("the event has no EventID")
    qualifiers_text = system["EventID"].get("Qualifiers")
    if qualifiers_text and not ascii_digits(qualifiers_text.strip()):
        raise ValueError(f"EventID Qualifiers {qualifiers_text!r} is not a number")
    qualifiers = int(qualifiers_text) if qualifiers_text else None
    event_id &= 0xFFFF
    if not (query.wants_event_id(event_id) and query.wants_provider(provider)):
        return None
    system_time = system["TimeCreated"].get("SystemTime") if "TimeCreated" in system else None
    time_created = parse_system_time(system_time) if system_time else None
    if time_created is not None and time_created <= _FILETIME_ZERO:
        time_created = None
    if not query.wants_time(time_created):
        return None
    return {
        "time_created": time_created,
        "computer": _text(system.get("Computer")),
        "channel": _text(system.get("Channel")),
        "provider": provider,
        "event_id": event_id,
        "qualifiers": qualifiers,
        "level": _int(system.get("Level"), "Level"),
        "task": _int(system.get("Task"), "Task"),
        "keywords": _text(system.get("Keywords")),
        "record_id": _int(system.get("EventRecordID"), "EventRecordID"),
        "record_number": None,
        "data": _event_data(parts),
        "message": _text(_child(parts.get("RenderingInfo"), "Message")) or None,
        "source": source,
    }


_FILETIME_ZERO = -11_644_473_600 * 1_000_000_000  # 1601-01-01: a zero FILETIME, no usable time


def event_data(event: Element) -> dict[str, str]:
    """The ``data`` dict of an ``<Event>``: EventData values, else UserData leaves.

    Unnamed ``<Data>`` are keyed ``%1``, ``%2``... by position (empty ones kept), named
    ones by name; ``<Binary>`` is kept as written (hex) under ``Binary``. UserData is
    flattened to its leaf elements by name (a repeated name gets ``_2``, ``_3``...).

    >>> event = fromstring("<Event><EventData><Data Name='Port'>25</Data><Data/>"
    ...                    "<Binary>0A0B</Binary></EventData></Event>")
    >>> event_data(event)
    {'Port': '25', '%2': '', 'Binary': '0A0B'}
    >>> event_data(fromstring("<Event><UserData><Log><Name>x</Name><Name>y</Name></Log></UserData></Event>"))
    {'Name': 'x', 'Name_2': 'y'}
    """
    return _event_data(_children(event))


def _event_data(parts: dict[str, Element]) -> dict[str, str]:
    data: dict[str, str] = {}
    event_data_element = parts.get("EventData")
    if event_data_element is not None:
        position = 0
        for child in event_data_element:
            name = _local(child.tag)
            if name == "Data":
                position += 1
                data[child.get("Name") or f"%{position}"] = child.text or ""
            elif name == "Binary":
                data["Binary"] = (child.text or "").strip()
        return data
    user_data = parts.get("UserData")
    if user_data is not None:
        for leaf in user_data.iter():
            if leaf is user_data or len(leaf):
                continue
            name, number = _local(leaf.tag), 1
            key = name
            while key in data:
                number += 1
                key = f"{name}_{number}"
            data[key] = leaf.text or ""
    return data
