"""The pure-Python .evtx engine: python-evtx (``Evtx``), over every chunk the file holds.

python-evtx's own iterator trusts the header's chunk count and stops at the first
bad record; here each chunk comes from the shared walk and each record from the
shared record-header walk, and a record python-evtx cannot render is counted and
skipped. Its XML is parsed (defusedxml) into pyevtx-rs's JSON shape, so both
engines build their rows with the same code.

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
from xml.etree.ElementTree import ParseError

import defusedxml.ElementTree as SafeET
from Evtx.Evtx import ChunkHeader, Record

from exlab.events.evtx_event import element_to_event, event_fields
from exlab.events.evtx_format import ChunkContext, keep

ENGINE = "python-evtx"


def read_chunks(contexts: Iterable[ChunkContext], out: list[tuple]) -> None:
    """Append a record tuple (``evtx_format.RECORD_COLUMNS``) per kept record to ``out``."""
    for context in contexts:
        _read_chunk(context, out)


def _read_chunk(context: ChunkContext, out: list[tuple]) -> None:
    data = context.slot.data
    chunk = ChunkHeader(data, 0)
    walk = context.walk
    query = context.query
    for header in walk.records:
        try:
            xml = Record(data, header.offset, chunk).xml()
            event = element_to_event(SafeET.fromstring(xml))
        except (ParseError, RecursionError) as err:
            context.report.skip_record(context.where(header),
                                       f"python-evtx rendered XML that does not parse: {err}")
            continue
        except Exception as err:  # noqa: BLE001 - python-evtx raises anything on damaged BinXml
            context.report.skip_record(context.where(header), f"python-evtx: {type(err).__name__}: {err}")
            continue
        context.report.records_read += 1
        fields = event_fields(event)
        if not keep(query, fields):
            continue
        time_ns = context.time_created(header, event)
        if query.wants_time(time_ns):
            out.append((time_ns, *fields, header.number))
    if walk.stop_reason:
        context.report.skip_record(
            f"{context.slot.where}, record header at offset {context.slot.offset + walk.stop_offset:#x}",
            f"{walk.stop_reason}; the rest of the chunk is unreadable")
