"""The on-disk layout of .evtx files: file header, 64 KiB chunks, record headers.

Both .evtx engines walk the file with this module, so they agree on which chunks
and records exist, and neither trusts the header's chunk count (dirty files hold
more chunks than the header says). The layout follows [MS-EVEN6] and the notes of
libevtx: a 4096-byte file header, then chunks of 65536 bytes, each with a 512-byte
header (string and template tables) and records from offset 512.

It also reads what the engines render too coarsely: the FILETIME of
``System/TimeCreated/@SystemTime`` at its full 100-ns precision, found through the
record's template (which substitution value fills that attribute).

>>> header = build_file_header(chunk_count=1)
>>> parse_file_header(header, "x.evtx").chunk_count
1
>>> filetime_to_ns(116444736000000000)  # 1970-01-01
0
>>> filetime_to_ns(0) is None  # a zero FILETIME: no usable time
True
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import lru_cache
from typing import BinaryIO, NamedTuple

from exlab.errors import CorruptInput, UnsupportedFormat

FILE_SIGNATURE = b"ElfFile\x00"
CHUNK_SIGNATURE = b"ElfChnk\x00"
RECORD_MAGIC = 0x00002A2A
FILE_HEADER_SIZE = 4096
CHUNK_SIZE = 65536
CHUNK_HEADER_SIZE = 512
RECORD_HEADER_SIZE = 24
FILETIME_EPOCH = 116444736000000000  # 100-ns ticks from 1601-01-01 to 1970-01-01

_FILE_HEADER = struct.Struct("<8sQQQIHHHH76xII")      # first 128 bytes
_CHUNK_HEADER = struct.Struct("<8sQQQQIIII64xII")     # first 128 bytes
_RECORD_HEADER = struct.Struct("<IIQQ")
_ZEROS = bytes(CHUNK_SIZE)
_U16 = struct.Struct("<H")
_U32 = struct.Struct("<I")
_U64 = struct.Struct("<Q")

# chunk status, as the walker classifies each 64 KiB slot
OK, EMPTY, BAD_SIGNATURE, TRUNCATED = "ok", "empty", "bad signature", "truncated"


@dataclass(frozen=True)
class FileHeader:
    """The fields of the 128-byte file header that matter for reading."""

    first_chunk: int
    last_chunk: int
    next_record: int
    header_size: int
    minor_version: int
    major_version: int
    block_size: int
    chunk_count: int
    flags: int
    checksum: int
    checksum_ok: bool

    @property
    def dirty(self) -> bool:
        """Flag 0x1: the log was not closed cleanly (the header may lag behind the chunks)."""
        return bool(self.flags & 0x1)


@dataclass(frozen=True)
class ChunkSlot:
    """One 64 KiB slot after the file header: its bytes and what the walker made of them."""

    index: int
    offset: int
    data: bytes
    status: str

    @property
    def where(self) -> str:
        return f"chunk {self.index} at offset {self.offset:#x}"


class RecordHeader(NamedTuple):
    """A record header inside a chunk; ``offset`` is relative to the chunk start."""

    offset: int
    size: int
    number: int
    written: int  # FILETIME of the record header (when the record was written)


def filetime_to_ns(filetime: int) -> int | None:
    """Nanoseconds since 1970-01-01 UTC from a FILETIME; ``None`` for a zero FILETIME.

    >>> filetime_to_ns(132617083050187674)  # 2021-03-31T23:51:45.0187674Z
    1617234705018767400
    """
    if filetime == 0:
        return None
    return (filetime - FILETIME_EPOCH) * 100


def is_evtx(head: bytes) -> bool:
    """True when ``head`` starts with the .evtx file signature ``ElfFile\\0``.

    >>> is_evtx(b"ElfFile\\x00" + bytes(120)), is_evtx(b"<Events>")
    (True, False)
    """
    return head.startswith(FILE_SIGNATURE)


def parse_file_header(head: bytes, name: str) -> FileHeader:
    """Parse and check the file header; raise for anything that is not an .evtx file.

    A wrong checksum is not fatal (Windows leaves it stale in dirty files): the
    caller notes it. A missing signature or a header cut short is.

    >>> parse_file_header(b"MZ" + bytes(200), "a.exe")
    Traceback (most recent call last):
    ...
    exlab.errors.UnsupportedFormat: a.exe, offset 0: expected the .evtx signature ElfFile\\0
    """
    if not head.startswith(FILE_SIGNATURE):
        raise UnsupportedFormat(name, "offset 0", "the .evtx signature ElfFile\\0")
    if len(head) < _FILE_HEADER.size:
        raise CorruptInput(name, f"file header ({len(head)} bytes)",
                           f"a {_FILE_HEADER.size}-byte .evtx file header")
    (_, first, last, next_record, header_size, minor, major, block_size, chunk_count, flags,
     checksum) = _FILE_HEADER.unpack_from(head)
    return FileHeader(first, last, next_record, header_size, minor, major, block_size, chunk_count,
                      flags, checksum, zlib.crc32(head[:120]) == checksum)


def build_file_header(*, chunk_count: int, next_record: int = 1, flags: int = 0) -> bytes:
    """A clean 4096-byte file header (version 3.1) for ``chunk_count`` chunks, with its CRC.

    >>> header = build_file_header(chunk_count=2)
    >>> len(header), header[:8], parse_file_header(header, "-").checksum_ok
    (4096, b'ElfFile\\x00', True)
    """
    last = max(chunk_count - 1, 0)
    fields = _FILE_HEADER.pack(FILE_SIGNATURE, 0, last, next_record, 128, 1, 3, FILE_HEADER_SIZE,
                               chunk_count & 0xFFFF, flags, 0)[:120]
    head = fields + struct.pack("<II", flags, zlib.crc32(fields))
    return head.ljust(FILE_HEADER_SIZE, b"\x00")


def chunk_count(size: int) -> int:
    """How many 64 KiB slots (the last one perhaps short) follow the header in a file of ``size`` bytes.

    >>> chunk_count(FILE_HEADER_SIZE), chunk_count(FILE_HEADER_SIZE + CHUNK_SIZE + 1)
    (0, 2)
    """
    return max(-(-(size - FILE_HEADER_SIZE) // CHUNK_SIZE), 0)


def iter_chunks(stream: BinaryIO, size: int, first: int = 0, count: int | None = None) -> Iterator[ChunkSlot]:
    """Every 64 KiB slot the file really holds, by file size (not the header's count);
    or ``count`` of them from slot number ``first`` on.

    All-zero slots (pre-allocated space) come back as ``EMPTY``, slots without the
    ``ElfChnk`` signature as ``BAD_SIGNATURE``, a short tail as ``TRUNCATED``.

    >>> import io
    >>> data = build_file_header(chunk_count=1) + CHUNK_SIGNATURE + bytes(CHUNK_SIZE - 8) + b"junk"
    >>> [(slot.index, slot.status) for slot in iter_chunks(io.BytesIO(data), len(data))]
    [(0, 'ok'), (1, 'truncated')]
    >>> [(slot.index, slot.offset) for slot in iter_chunks(io.BytesIO(data), len(data), first=1)]
    [(1, 69632)]
    """
    index = first
    offset = FILE_HEADER_SIZE + first * CHUNK_SIZE
    end = min(size, offset + count * CHUNK_SIZE) if count is not None else size
    stream.seek(offset)
    while offset < end:
        data = stream.read(CHUNK_SIZE)
        if not data:
            return
        if data.startswith(CHUNK_SIGNATURE) and len(data) == CHUNK_SIZE:
            status = OK
        elif data == _ZEROS[:len(data)]:     # pre-allocated space, never written
            status = EMPTY
        else:
            status = TRUNCATED if len(data) < CHUNK_SIZE else BAD_SIGNATURE
        yield ChunkSlot(index, offset, data, status)
        index += 1
        offset += len(data)


class ReadablePart(NamedTuple):
    """The records of a cut chunk that lie wholly before the cut: a slot whose bytes end,
    zero-filled to a whole chunk, where the first record the cut reaches starts (``stop``)."""

    slot: ChunkSlot
    stop: int


def readable_part(slot: ChunkSlot) -> ReadablePart | None:
    """What can be read of a chunk the end of the file cuts short: its header and the records
    wholly before the cut, the rest zeros (where the engines end a chunk cleanly); None when
    not one record is whole.

    >>> record = struct.pack("<IIQQ", RECORD_MAGIC, 32, 7, 0) + bytes(8)
    >>> header = CHUNK_SIGNATURE + struct.pack("<QQQQIII", 7, 8, 7, 8, 128, 544, 576)
    >>> cut = header.ljust(CHUNK_HEADER_SIZE, bytes(1)) + record + record[:20]
    >>> part = readable_part(ChunkSlot(3, 0x31000, cut, TRUNCATED))
    >>> part.stop, len(part.slot.data), [r.number for r in walk_records(part.slot.data).records]
    (544, 65536, [7])
    """
    if not slot.data.startswith(CHUNK_SIGNATURE) or len(slot.data) < CHUNK_HEADER_SIZE:
        return None
    walk = walk_records(slot.data)
    if not walk.records:
        return None
    last = walk.records[-1]
    stop = walk.stop_offset if walk.stop_offset is not None else last.offset + last.size
    return ReadablePart(ChunkSlot(slot.index, slot.offset, slot.data[:stop].ljust(CHUNK_SIZE, b"\x00"), slot.status),
                        stop)


@dataclass(frozen=True)
class ChunkHeader:
    first_number: int
    last_number: int
    first_id: int
    last_id: int
    header_size: int
    last_record_offset: int
    free_space_offset: int
    data_checksum: int
    flags: int
    header_checksum: int


def parse_chunk_header(data: bytes) -> ChunkHeader:
    """The fixed fields of a chunk header (the caller has checked the signature).

    >>> parse_chunk_header(CHUNK_SIGNATURE + struct.pack("<QQQQ", 1, 90, 1, 90) + bytes(480)).last_id
    90
    """
    return ChunkHeader(*_CHUNK_HEADER.unpack_from(data)[1:])


@dataclass
class RecordWalk:
    """The records of one chunk in order, and why the walk stopped early, if it did."""

    records: list[RecordHeader]
    stop_reason: str | None = None   # a damaged record header ended the walk
    stop_offset: int | None = None


def walk_records(data: bytes) -> RecordWalk:
    """Walk the record headers of a chunk, with the same rules as pyevtx-rs.

    Records start at offset 512 and follow each other by their size, up to the
    chunk's free-space offset and the last record id it declares. A zero magic ends
    the chunk cleanly (slack space); any other damage ends it with a reason.

    >>> record = struct.pack("<IIQQ", RECORD_MAGIC, 32, 7, 0) + bytes(8)
    >>> header = CHUNK_SIGNATURE + struct.pack("<QQQQIII", 7, 7, 7, 8, 128, 512, 544 + 24)
    >>> chunk = header.ljust(CHUNK_HEADER_SIZE, bytes(1)) + record + b"oops" * 6
    >>> walk = walk_records(chunk)
    >>> [r.number for r in walk.records], walk.stop_reason
    ([7], 'record header magic 0x73706f6f, expected 0x00002a2a')
    """
    header = parse_chunk_header(data)
    end = min(header.free_space_offset, len(data))
    offset = CHUNK_HEADER_SIZE
    records: list[RecordHeader] = []
    unpack = _RECORD_HEADER.unpack_from
    while offset < end and len(data) - offset >= RECORD_HEADER_SIZE:
        magic, size, number, written = unpack(data, offset)
        if magic != RECORD_MAGIC:
            if magic == 0:
                break
            return RecordWalk(records, f"record header magic {magic:#010x}, expected 0x00002a2a", offset)
        if size < RECORD_HEADER_SIZE + 4:
            return RecordWalk(records, f"record size {size}, expected at least 28", offset)
        if offset + size > len(data):
            return RecordWalk(records, f"record of {size} bytes runs past the chunk end", offset)
        records.append(RecordHeader(offset, size, number, written))
        offset += size
        if number == header.last_id:
            break
    return RecordWalk(records)


# --- TimeCreated at 100-ns precision, through the record's template -----------------------

_TIME_CREATED = "TimeCreated".encode("utf-16-le")
_SYSTEM_TIME = "SystemTime".encode("utf-16-le")
_FILETIME_DESCRIPTOR = 0x11 << 16 | 8  # value type FILETIME, 8 bytes


@lru_cache(maxsize=None)
def _sizes(count: int) -> struct.Struct:
    """Reads the value sizes out of ``count`` substitution descriptors (size, type, pad)."""
    return struct.Struct("<" + "H2x" * count)


def template_instance(data: bytes, pos: int) -> tuple[int, int] | None:
    """Where the template of the BinXml fragment at ``pos`` is defined, and where its
    substitution values start (their count, then size/type descriptors, then values);
    None when the fragment is not a template instance.

    >>> template_instance(bytes([0x0F, 1, 1, 0, 0x0C, 1]) + bytes(4) + (80).to_bytes(4, "little"), 0)
    (80, 14)
    """
    if data[pos] == 0x0F:                  # fragment header
        pos += 4
    if data[pos] != 0x0C:                  # template instance
        return None
    definition = _U32.unpack_from(data, pos + 6)[0]
    pos += 10
    if definition == pos:                  # the definition is inline: the values follow it
        pos += 24 + _U32.unpack_from(data, pos + 20)[0]
    return definition, pos


class TemplateTimes:
    """Per chunk: which substitution of each template fills TimeCreated/@SystemTime.

    >>> TemplateTimes(bytes(CHUNK_SIZE)).filetimes([RecordHeader(CHUNK_HEADER_SIZE, 32, 1, 0)])
    [None]
    """

    def __init__(self, data: bytes) -> None:
        self.data = data
        # template definition -> (index of the TimeCreated substitution or -1, reader of the
        # sizes of the substitutions before it or None)
        self._slots: dict[int, tuple[int, Callable | None]] = {}

    def filetimes(self, records: list[RecordHeader]) -> list[int | None]:
        """The TimeCreated FILETIME of each record, in order; None where a record does not
        carry it as a FILETIME substitution (then the engine's rendering is all there is).

        One tight loop per chunk: this runs for every record of every log read.
        """
        data, slots = self.data, self._slots
        u32, u64, skip_header = _U32.unpack_from, _U64.unpack_from, RECORD_HEADER_SIZE
        times: list[int | None] = []
        append = times.append
        for record in records:
            try:
                instance = template_instance(data, record.offset + skip_header)
                if instance is None:
                    append(None)
                    continue
                definition, pos = instance
                found = slots.get(definition)
                if found is None:
                    index = self._find_slot(definition)
                    found = slots[definition] = (-1, None) if index is None else \
                        (index, _sizes(index).unpack_from if index else None)
                slot, sizes = found
                count = u32(data, pos)[0]
                if slot < 0 or slot >= count or \
                        u32(data, pos + 4 + 4 * slot)[0] & 0xFFFFFF != _FILETIME_DESCRIPTOR:
                    append(None)
                    continue
                value_offset = pos + 4 + 4 * count
                if sizes is not None:
                    value_offset += sum(sizes(data, pos + 4))
                append(u64(data, value_offset)[0])
            except (struct.error, IndexError):
                append(None)
        return times

    def _name(self, offset: int) -> bytes:
        length = _U16.unpack_from(self.data, offset + 6)[0]
        return self.data[offset + 8: offset + 8 + 2 * length]

    def _skip_name(self, name_offset: int, pos: int) -> int:
        """Position after an inline name (one whose offset is where we stand)."""
        if name_offset != pos:
            return pos
        return pos + 8 + 2 * _U16.unpack_from(self.data, pos + 6)[0] + 2

    def _find_slot(self, definition: int) -> int | None:
        """Walk the template's tokens to the substitution inside TimeCreated/@SystemTime."""
        data = self.data
        pos = definition + 24
        end = min(pos + _U32.unpack_from(data, definition + 20)[0], len(data))
        element = attribute = b""
        while pos < end:
            token = data[pos]
            base = token & 0xBF
            if base == 0x00:                                   # end of stream
                return None
            if base == 0x01:                                   # open start element
                name_offset = _U32.unpack_from(data, pos + 7)[0]
                element, attribute = self._name(name_offset), b""
                pos = self._skip_name(name_offset, pos + 11) + (4 if token & 0x40 else 0)
            elif base in (0x02, 0x03, 0x04):                   # close start / empty / end
                attribute = b""
                pos += 1
            elif base == 0x05:                                 # value text
                pos += 4 + 2 * _U16.unpack_from(data, pos + 2)[0]
            elif base == 0x06:                                 # attribute
                name_offset = _U32.unpack_from(data, pos + 1)[0]
                attribute = self._name(name_offset)
                pos = self._skip_name(name_offset, pos + 5)
            elif base in (0x07, 0x0B):                         # CDATA, PI data
                pos += 3 + 2 * _U16.unpack_from(data, pos + 1)[0]
            elif base == 0x08:                                 # character reference
                pos += 3
            elif base in (0x09, 0x0A):                         # entity reference, PI target
                name_offset = _U32.unpack_from(data, pos + 1)[0]
                pos = self._skip_name(name_offset, pos + 5)
            elif base in (0x0D, 0x0E):                         # substitution
                if element == _TIME_CREATED and attribute == _SYSTEM_TIME:
                    return _U16.unpack_from(data, pos + 1)[0]
                pos += 4
            elif base == 0x0F:                                 # fragment header
                pos += 4
            else:
                return None
        return None
