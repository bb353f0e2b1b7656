"""Write event rows as an .evtx file: records packed into 64 KiB chunks behind a file header.

Records (``exlab.lab.evtx_records``) fill a chunk until the next one would not fit;
each chunk carries its own string and template tables and CRC32s
(``exlab.lab.evtx_layout``); the file header is the reader's (``exlab.events.evtx_layout``).

>>> import io
>>> stream = io.BytesIO()
>>> written = write_evtx(stream, [{"time_created": 1_742_462_042_123_456_700, "computer": "EX01",
...     "channel": "Application", "provider": "MSExchangeTransport", "event_id": 2004,
...     "qualifiers": 16388, "level": 4, "task": 2, "keywords": "0x80000000000000",
...     "record_id": 1, "data": {"%1": "Outbound to Office 365", "%2": "<a@contoso.com>"}}])
>>> written.records, written.chunks, len(stream.getvalue())
(1, 1, 69632)
"""

from __future__ import annotations

import io
import os
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, BinaryIO

from exlab.events.evtx_layout import CHUNK_HEADER_SIZE, CHUNK_SIZE, FILE_HEADER_SIZE, build_file_header
from exlab.lab.binxml import ChunkTables
from exlab.lab.evtx_layout import FILE_FLAG_DIRTY, STRING_TABLE_OFFSET, TEMPLATE_TABLE_OFFSET, seal_chunk
from exlab.lab.evtx_records import encode_record

DAMAGE_KINDS = ("signature", "records")


@dataclass(frozen=True)
class EvtxWritten:
    """What :func:`write_evtx` wrote: counts, file size and the records in each chunk."""

    records: int
    chunks: int
    size: int
    records_per_chunk: tuple[int, ...]


@dataclass(frozen=True)
class _Options:
    dirty: bool
    header_chunk_count: int | None
    damaged: frozenset[int]
    damage: str
    classic_strings: bool


class _Chunk:
    """One 64 KiB chunk being filled with records."""

    def __init__(self, classic_strings: bool) -> None:
        self.data = bytearray(CHUNK_SIZE)
        self.tables = ChunkTables()
        self.classic_strings = classic_strings
        self.free = CHUNK_HEADER_SIZE
        self.last_record = CHUNK_HEADER_SIZE
        self.first_id = self.last_id = 0
        self.records = 0

    def add(self, row: Mapping[str, Any], record_id: int) -> bool:
        record = encode_record(row, self.tables, self.free, record_id, classic_strings=self.classic_strings)
        end = self.free + len(record)
        if end > CHUNK_SIZE:
            self.tables.rollback()
            return False
        self.tables.commit()
        self.data[self.free:end] = record
        if not self.records:
            self.first_id = record_id
        self.last_id, self.last_record, self.free = record_id, self.free, end
        self.records += 1
        return True

    def seal(self, damage: str | None) -> bytearray:
        self.tables.pack_into(self.data, STRING_TABLE_OFFSET, TEMPLATE_TABLE_OFFSET)
        seal_chunk(self.data, first_number=self.first_id, last_number=self.last_id,
                   first_id=self.first_id, last_id=self.last_id,
                   last_record_offset=self.last_record, free_space_offset=self.free)
        if damage == "signature":
            self.data[0:8] = bytes(b ^ 0xFF for b in self.data[0:8])
        elif damage == "records":
            view = self.data[CHUNK_HEADER_SIZE:self.free]
            self.data[CHUNK_HEADER_SIZE:self.free] = bytes(b ^ 0xA5 for b in view)
        return self.data


def _damage_set(damage_chunk: int | Collection[int] | None) -> frozenset[int]:
    if damage_chunk is None:
        return frozenset()
    if isinstance(damage_chunk, int):
        return frozenset((damage_chunk,))
    return frozenset(damage_chunk)


def write_evtx(target: str | os.PathLike | BinaryIO, rows: Iterable[Mapping[str, Any]], *,
               dirty: bool = False, header_chunk_count: int | None = None,
               damage_chunk: int | Collection[int] | None = None,
               damage: str = "signature", classic_strings: bool = False) -> EvtxWritten:
    """Write event rows (events-frame row dicts) as an .evtx file; same rows, same bytes.

    Rows need ``event_id`` and ``record_id`` (the EventRecordID; ``record_number``, when
    given, goes to the record header instead), increasing from row to row as Windows
    numbers records; ``time_created`` is int nanoseconds since the epoch (UTC), ``data``
    a dict ("%1", "%2", ... unnamed values, other keys named ``<Data Name=...>``).
    Optional: qualifiers (None: no Qualifiers attribute), level, task, opcode, version,
    keywords ("0x80000000000000"), process_id, thread_id, user_sid ("S-1-5-18"),
    provider_guid, activity_id, related_activity_id.

    Each ``<Data>`` value is a String substitution. ``classic_strings=True`` writes rows
    whose values are all unnamed the way classic sources log through ReportEvent: one
    string-array value in one ``<Data>`` plus an empty ``<Binary>`` (pyevtx-rs shows one
    ``<Data>`` per string, python-evtx one ``<Data>`` of ``<string>`` items).

    Records fill a chunk until the next one would not fit. ``dirty`` sets the header's
    dirty flag and ``header_chunk_count`` makes the header count fewer chunks than the
    file holds (a copy of a live log); ``damage_chunk`` (an index or several) damages
    chunks on purpose: ``damage="signature"`` flips the chunk signature, ``"records"``
    scrambles its records (the stored CRC32s no longer match).

    >>> import io
    >>> rows = [{"time_created": 1_742_462_042_000_000_000 + n * 10**9, "computer": "EX01",
    ...     "channel": "Application", "provider": "MSExchangeTransport", "event_id": 12014,
    ...     "qualifiers": 49156, "level": 2, "task": 12, "keywords": "0x80000000000000",
    ...     "record_id": 100 + n, "data": {"%1": "mail.contoso.com", "%2": "Outbound"}}
    ...     for n in range(400)]
    >>> write_evtx(io.BytesIO(), rows, dirty=True, header_chunk_count=1).records_per_chunk
    (256, 144)
    """
    if damage not in DAMAGE_KINDS:
        raise ValueError(f"damage must be one of {DAMAGE_KINDS}, not {damage!r}")
    options = _Options(dirty, header_chunk_count, _damage_set(damage_chunk), damage, classic_strings)
    if isinstance(target, (str, os.PathLike)):
        with open(target, "wb") as stream:
            return _write(stream, rows, options)
    if not (target.seekable() if hasattr(target, "seekable") else False):
        buffer = io.BytesIO()
        written = _write(buffer, rows, options)
        target.write(buffer.getvalue())
        return written
    return _write(target, rows, options)


def _write(stream: BinaryIO, rows: Iterable[Mapping[str, Any]], options: _Options) -> EvtxWritten:
    start = stream.tell()
    stream.write(bytes(FILE_HEADER_SIZE))
    per_chunk: list[int] = []
    last_ids: list[int] = []
    chunk = _Chunk(options.classic_strings)

    def flush() -> None:
        stream.write(chunk.seal(options.damage if len(per_chunk) in options.damaged else None))
        per_chunk.append(chunk.records)
        last_ids.append(chunk.last_id)

    previous = -1
    for position, row in enumerate(rows):
        number = row.get("record_number")
        record_id = int(number if number is not None else row["record_id"])
        if record_id <= previous:
            # readers stop a chunk at its last record number: a repeated one loses records
            raise ValueError(f"row {position}: record numbers must increase ({previous}, then {record_id})")
        previous = record_id
        if chunk.add(row, record_id):
            continue
        if not chunk.records:
            raise ValueError(f"row {position} (record {record_id}) does not fit in an empty chunk")
        flush()
        chunk = _Chunk(options.classic_strings)
        if not chunk.add(row, record_id):
            raise ValueError(f"row {position} (record {record_id}) does not fit in an empty chunk")
    if chunk.records:
        flush()
    end = stream.tell()
    counted = len(per_chunk) if options.header_chunk_count is None else options.header_chunk_count
    if not 0 <= counted <= len(per_chunk):
        raise ValueError(f"header_chunk_count={options.header_chunk_count}: "
                         f"the file has {len(per_chunk)} chunks")
    next_record_id = last_ids[counted - 1] + 1 if counted else 1
    stream.seek(start)
    stream.write(build_file_header(chunk_count=counted, next_record=next_record_id,
                                   flags=FILE_FLAG_DIRTY if options.dirty else 0))
    stream.seek(end)
    return EvtxWritten(records=sum(per_chunk), chunks=len(per_chunk), size=end - start,
                       records_per_chunk=tuple(per_chunk))
