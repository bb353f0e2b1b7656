"""The default .evtx engine: pyevtx-rs (PyPI ``evtx``), one chunk at a time.

Each intact chunk goes to ``PyEvtxParser`` behind a clean file header, so a
failure is pinned to its chunk and record, and iteration goes on after it (a plain
for-loop over ``records_json()`` stops at the first ``RuntimeError``). Filters on
event id and provider are checked on the JSON text before it is parsed: reading
event 2004 out of a big log builds no Python objects for the other records.

>>> import io
>>> from exlab.events.evtx_layout import build_file_header
>>> from exlab.events.query import EventQuery
>>> from exlab.evidence import open_evidence
>>> from exlab.events import evtx_format
>>> from exlab.parse_report import ParseReport
>>> report = ParseReport().add_file("x.evtx", sha256="", format="evtx")
>>> blank = open_evidence(io.BytesIO(build_file_header(chunk_count=1) + bytes(65536)))
>>> list(evtx_format.read(blank, EventQuery.build(engine="evtx"), report)), report.losses
([], [])
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Iterator

import evtx

from exlab.events.evtx_event import event_row, system_time
from exlab.events.evtx_layout import build_file_header

ENGINE = "evtx"

_HEADER = build_file_header(chunk_count=1)
# The first "EventID" key of the JSON text is System's (System comes first, and a quote
# inside a JSON string is escaped, so the pattern cannot match inside a value).
_EVENT_ID = re.compile(r'"EventID":(?:\{"#attributes":\{[^{}]*\},"#text":)?"?(\d+)')
_PROVIDER = re.compile(r'"Provider":\{"#attributes":\{"Name":("(?:[^"\\]|\\.)*")')


def read_chunk(context) -> Iterator[dict]:
    """Rows of one chunk (an ``evtx_format.ChunkContext``), losses into its report."""
    query, report = context.query, context.report
    parser = evtx.PyEvtxParser(io.BytesIO(_HEADER + context.slot.data), number_of_threads=1,
                               indent=False)
    records = parser.records_json()
    event_ids, providers = query.event_ids, query.providers
    position = -1
    while True:
        try:
            record = next(records)
        except StopIteration:
            return
        except RuntimeError as err:
            _count_failure(context, position + 1, str(err))
            position += 0 if _ends_chunk(str(err)) else 1
            continue
        position += 1
        report.records_read += 1
        text = record["data"]
        if event_ids is not None:
            match = _EVENT_ID.search(text)
            if match is not None and int(match[1]) & 0xFFFF not in event_ids:
                continue
        if providers is not None:
            match = _PROVIDER.search(text)
            if match is not None and json.loads(match[1]).lower() not in providers:
                continue
        event = json.loads(text).get("Event") or {}
        row = event_row(event)
        number = record["event_record_id"]
        header = context.header_at(position, number)
        row["time_created"] = context.time_created(header, system_time(event))
        row["record_number"] = number
        row["source"] = context.source
        if query.wants(row):
            yield row


def _ends_chunk(message: str) -> bool:
    """A damaged record header: pyevtx-rs gives up on the rest of the chunk."""
    return "record header" in message or "data size" in message or "out of bounds" in message


def _count_failure(context, position: int, message: str) -> None:
    reason = message.split(":", 1)[-1].strip() if message.startswith("An error occurred") else message
    if "chunk" in message.lower() and "record" not in message.lower():
        context.report.skip_chunk(context.slot.where, reason)
        return
    if _ends_chunk(message):
        walk = context.walk
        offset = walk.stop_offset if walk.stop_offset is not None else None
        where = context.slot.where if offset is None else \
            f"{context.slot.where}, record header at offset {context.slot.offset + offset:#x}"
        context.report.skip_record(where, f"{reason}; the rest of the chunk is unreadable")
        return
    records = context.walk.records
    header = records[position] if position < len(records) else None
    context.report.skip_record(context.where(header), reason)
