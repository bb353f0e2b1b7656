"""The default .evtx engine: pyevtx-rs (PyPI ``evtx``), a batch of chunks at a time.

Intact chunks go to ``PyEvtxParser`` 64 at a time behind a clean file header,
so Rust parses ahead on its own threads while Python takes the records. When a
batch raises (a damaged record or chunk), it is read again one chunk at a time,
so every loss is pinned to its chunk and record and iteration goes on after it (a
plain for-loop over ``records_json()`` stops at the first ``RuntimeError``).

Filters on event id and provider are checked on the JSON text before it is parsed:
reading event 2004 out of a big log builds no Python objects for the other records.

>>> import io
>>> from exlab.events.evtx_layout import build_file_header
>>> from exlab.events.query import EventQuery
>>> from exlab.evidence import open_evidence
>>> from exlab.events import evtx_format
>>> from exlab.parse_report import ParseReport
>>> report = ParseReport().add_file("x.evtx", sha256="", format="evtx")
>>> blank = open_evidence(io.BytesIO(build_file_header(chunk_count=1) + bytes(65536)))
>>> evtx_format.read_columns(blank, EventQuery.build(engine="evtx"), report)["event_id"], report.losses
([], [])
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Callable, Iterable

import evtx
import orjson

from exlab.events.evtx_event import count_keys, event_fields, unique_keys
from exlab.events.evtx_format import ChunkContext, keep
from exlab.events.evtx_layout import build_file_header
from exlab.events.query import EventQuery

ENGINE = "evtx"
BATCH = 64  # chunks per parser: 4 MiB, enough for Rust's threads to run ahead

_HEADERS = {count: build_file_header(chunk_count=count) for count in range(1, BATCH + 1)}
# The first "EventID" key of the JSON text is System's (System comes first, and a quote
# inside a JSON string is escaped, so the key cannot be found inside a value). Both
# patterns are matched where ``str.find`` found their key (a miss, -1, cannot match).
_EVENT_ID = re.compile(r'"EventID":(?:\{"#attributes":\{[^{}]*\},"#text":)?"?(\d+)')
_PROVIDER = re.compile(r'"Provider":\{"#attributes":\{"Name":("(?:[^"\\]|\\.)*")')


def read_chunks(contexts: Iterable[ChunkContext], out: list[tuple]) -> None:
    """Append a record tuple (``evtx_format.RECORD_COLUMNS``) per kept record to ``out``."""
    batch: list[ChunkContext] = []
    last = -1
    for context in contexts:
        header = context.header
        if batch and (len(batch) == BATCH or header.first_id <= last):
            _read_batch(batch, out)
            batch = []
        if header.first_id > header.last_id:   # a chunk header that cannot be trusted
            _read_batch([context], out)
            continue
        batch.append(context)
        last = header.last_id
    if batch:
        _read_batch(batch, out)


def _read_batch(batch: list[ChunkContext], out: list[tuple]) -> None:
    """Chunks whose record-id ranges follow each other, read together if they can be."""
    if len(batch) > 1 and _read_together(batch, out):
        return
    for context in batch:
        _read_one(context, out)


def _parser(contexts: list[ChunkContext], threads: int):
    data = _HEADERS[len(contexts)] + b"".join(context.slot.data for context in contexts)
    return evtx.PyEvtxParser(io.BytesIO(data), number_of_threads=threads, indent=False).records_json()


def _read_together(batch: list[ChunkContext], out: list[tuple]) -> bool:
    """Read a batch in one parser; False (and nothing kept) if it must go chunk by chunk.

    Records are matched to chunks by the record-id ranges in the chunk headers (the
    batch holds chunks whose ranges are ordered and disjoint).
    """
    ranges = [(h.first_id, h.last_id) for h in (context.header for context in batch)]
    report = batch[0].report
    notes = len(report.warnings)
    kept: list[tuple] = []
    index, (first, last) = 0, ranges[0]
    read: list[tuple[int, int]] = []    # (chunk of the batch, record number) of each record read
    wanted = _prefilter(batch[0].query)
    try:
        for record in _parser(batch, 1):
            number = record["event_record_id"]
            while not first <= number <= last:
                index += 1
                if index == len(batch):
                    raise LookupError(number)
                first, last = ranges[index]
            read.append((index, number))
            if wanted is None or wanted(record["data"]):
                _take(batch[index], record, number, number - first, kept, True)
    except (RuntimeError, LookupError):
        del report.warnings[notes:]
        return False
    report.records_read += len(read)
    for index, number in read:
        batch[index].read_numbers.append(number)
    out.extend(kept)
    return True


def _read_one(context: ChunkContext, out: list[tuple]) -> None:
    records = _parser([context], 1)
    wanted = _prefilter(context.query)
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
        context.report.records_read += 1
        context.read_numbers.append(record["event_record_id"])
        if wanted is None or wanted(record["data"]):
            _take(context, record, record["event_record_id"], position, out, False)


def _prefilter(query: EventQuery) -> Callable[[str], bool] | None:
    """A check of the JSON text against the event-id and provider filters, or None.

    It only rejects what the filters surely exclude (a record whose text it cannot
    read passes, and the filters are applied again on the parsed values). The keys
    are found with ``str.find`` and the values read with an anchored match, which
    costs a fraction of a regex search through the text.

    >>> wanted = _prefilter(EventQuery.build(event_ids=[2004]))
    >>> wanted('{"System":{"EventID":{"#attributes":{"Qualifiers":16388},"#text":2004}}}')
    True
    >>> wanted('{"System":{"EventID":7036}}'), wanted('{"System":{"EventID":"junk"}}')
    (False, True)
    """
    if query.event_ids is None and query.providers is None:
        return None
    event_ids, providers = query.event_ids, query.providers
    event_id, provider = _EVENT_ID.match, _PROVIDER.match

    def wanted(text: str) -> bool:
        if event_ids is not None:
            match = event_id(text, text.find('"EventID":'))
            if match is not None and int(match[1]) & 0xFFFF not in event_ids:
                return False
        if providers is not None:
            match = provider(text, text.find('"Provider":'))
            if match is not None and orjson.loads(match[1]).lower() not in providers:
                return False
        return True

    return wanted


def _take(context: ChunkContext, record: dict, number: int, position: int, out: list[tuple],
          batched: bool) -> None:
    text = record["data"]
    try:
        event = _decode(text)
    except ValueError as err:     # a damaged record that pyevtx-rs rendered as broken JSON
        context.report.skip_record(f"{context.slot.where}, record {number}", f"its rendering is not JSON ({err})")
        return
    fields = event_fields(event)
    query = context.query
    if not keep(query, fields):
        return
    index = context.index_of(position, number)
    if index is None:
        if batched:      # the chunk ranges misled us: read this batch chunk by chunk
            raise LookupError(number)
        context.report.note(f"{context.slot.where}: record {number} is not where the record headers "
                            "say; its TimeCreated is read from the rendering (microseconds)")
    time_ns = context.time_created(index, event)
    if query.wants_time(time_ns):
        out.append((time_ns, *fields, number, context.digest(number)))


def _decode(text: str) -> dict:
    """The ``Event`` of a record's JSON text, every value kept.

    pyevtx-rs writes repeated ``<Data Name=..>`` as repeated keys, and a decode keeps the
    last only. Every key is written ``"name":``, so more of those in EventData's text than
    keys decoded means a repeat (or an escaped quote in a value): the text is decoded
    again, keeping every value. (As many as the top-level keys: then there is no nested
    key to count either.)

    >>> _decode('{"Event":{"EventData":{"IpAddress":"::1","LogonGuid":"a","LogonGuid":"b"}}}')
    {'EventData': {'IpAddress': '::1', 'LogonGuid': 'a', 'LogonGuid_1': 'b'}}

    Text that is not a JSON object with an ``Event`` object is a ValueError (a damaged record):

    >>> _decode('{"Event":{"System":{"EventID":1}')   # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    orjson.JSONDecodeError: ...
    """
    decoded = orjson.loads(text)
    event = (decoded.get("Event") if type(decoded) is dict else None) or {}
    if type(event) is not dict:
        raise ValueError(f"its Event is a JSON {type(event).__name__}, not an object")
    event_data = event.get("EventData")
    if type(event_data) is dict:
        written = text.count('":', text.find('"EventData":'))
        if written != 1 + len(event_data) and written != 1 + count_keys(event_data):
            event = json.loads(text, object_pairs_hook=unique_keys).get("Event") or {}
    return event


def _ends_chunk(message: str) -> bool:
    """A damaged record header: pyevtx-rs gives up on the rest of the chunk."""
    return "record header" in message or "data size" in message or "out of bounds" in message


def _count_failure(context: ChunkContext, position: int, message: str) -> None:
    reason = message.split(":", 1)[-1].strip() if message.startswith("An error occurred") else message
    lowered = message.lower()
    if "parse chunk" in lowered or ("chunk" in lowered and "record" not in lowered):
        context.report.skip_chunk(context.slot.where, reason)
        return
    if _ends_chunk(message):
        offset = context.walk.stop_offset
        where = context.slot.where if offset is None else \
            f"{context.slot.where}, record header at offset {context.slot.offset + offset:#x}"
        if position == 0:     # not one record of the chunk could be read: the chunk is lost
            context.report.skip_chunk(where, f"{reason}; no record of the chunk is readable")
        else:
            context.report.skip_record(where, f"{reason}; the rest of the chunk is unreadable")
        return
    records = context.walk.records
    header = records[position] if position < len(records) else None
    context.report.skip_record(context.where(header), reason)
