"""The binary layout of the .evtx chunks the lab writes: chunk header, record header, CRC32s.

An .evtx file is a 4 KiB file header followed by 64 KiB chunks. The file header, the
signatures and the sizes are the reader's (``exlab.events.evtx_layout``, whose
``build_file_header`` the writer uses), so writer and reader agree on them. Each chunk
starts with a 512-byte header: 128 bytes of fields, the 64-entry common string offset
table and the 32-entry template pointer table. Event records follow from offset 512.
All integers are little-endian; the CRC32 is zlib's (RFC 1952, initial value 0).

>>> chunk = bytearray(65536)   # one chunk
>>> seal_chunk(chunk, first_number=1, last_number=1, first_id=1, last_id=1,
...            last_record_offset=512, free_space_offset=512)
>>> struct.unpack_from("<QQ", chunk, 8), struct.unpack_from("<I", chunk, 52)[0] == zlib.crc32(b"")
((1, 1), True)
"""

from __future__ import annotations

import struct
import zlib

from exlab.events.evtx_layout import CHUNK_HEADER_SIZE, CHUNK_SIGNATURE, FILETIME_EPOCH

RECORD_SIGNATURE = b"**\x00\x00"

HEADER_FIELDS_SIZE = 128     # "header size" in both the file and the chunk header
STRING_TABLE_OFFSET = 128
STRING_BUCKETS = 64
TEMPLATE_TABLE_OFFSET = 384
TEMPLATE_BUCKETS = 32
RECORD_ALIGNMENT = 8         # Windows pads every record to a multiple of 8 bytes

FILE_FLAG_DIRTY = 0x0001     # the log was open (a live copy) when the file was taken
CHUNK_FLAGS = 0x0001         # what Windows writes in every chunk header it closes

_CHUNK_FIELDS = struct.Struct("<8sQQQQIIII")      # up to offset 56; 64 zero bytes follow
_RECORD_HEADER = struct.Struct("<4sIQQ")


def filetime_from_ns(ns: int | None) -> int:
    """FILETIME (100-ns ticks since 1601-01-01 UTC) of nanoseconds since the Unix epoch.

    ``None`` (no usable time) becomes the zero FILETIME. Nanoseconds below 100 are
    dropped, as FILETIME cannot hold them.

    >>> filetime_from_ns(1_700_000_000_123_456_700)
    133444736001234567
    >>> filetime_from_ns(None)
    0
    """
    if ns is None:
        return 0
    return ns // 100 + FILETIME_EPOCH


def seal_chunk(chunk: bytearray, *, first_number: int, last_number: int, first_id: int,
               last_id: int, last_record_offset: int, free_space_offset: int) -> None:
    """Fill a chunk's header fields and both CRC32s, in place.

    The string and template tables (offsets 128 to 512) must already be filled:
    the header CRC covers bytes 0-120 and 128-512, the data CRC the event records
    (from 512 to the free space offset).

    >>> chunk = bytearray(65536)
    >>> seal_chunk(chunk, first_number=1, last_number=1, first_id=1, last_id=1,
    ...            last_record_offset=512, free_space_offset=512)
    >>> chunk[:8], struct.unpack_from("<I", chunk, 124)[0] == chunk_header_crc(chunk)
    (bytearray(b'ElfChnk\\x00'), True)
    """
    _CHUNK_FIELDS.pack_into(chunk, 0, CHUNK_SIGNATURE, first_number, last_number, first_id, last_id,
                            HEADER_FIELDS_SIZE, last_record_offset, free_space_offset,
                            zlib.crc32(memoryview(chunk)[CHUNK_HEADER_SIZE:free_space_offset]))
    struct.pack_into("<I", chunk, 120, CHUNK_FLAGS)
    struct.pack_into("<I", chunk, 124, chunk_header_crc(chunk))


def chunk_header_crc(chunk: bytes | bytearray) -> int:
    """CRC32 of a chunk header: bytes 0-120 and 128-512 (the checksum field left out).

    >>> chunk_header_crc(bytes(CHUNK_HEADER_SIZE)) == zlib.crc32(bytes(504))
    True
    """
    view = memoryview(chunk)
    return zlib.crc32(view[STRING_TABLE_OFFSET:CHUNK_HEADER_SIZE], zlib.crc32(view[:120]))


def record_header(size: int, record_id: int, written: int) -> bytes:
    """The 24 bytes that open an event record: ``**\\0\\0``, size, identifier, written FILETIME.

    >>> record_header(64, 5, 0).hex(" ")[:35]
    '2a 2a 00 00 40 00 00 00 05 00 00 00'
    """
    return _RECORD_HEADER.pack(RECORD_SIGNATURE, size, record_id, written)
