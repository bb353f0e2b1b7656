"""The account of an .evtx file's records: what its headers claim, what was read, what is
lost and where, duplicates, and chunks recovered past the file header's count.

Each 64 KiB slot the walk met leaves a :class:`ChunkAccount` (made where the chunk was
read, perhaps in a helper process): its chunk header's first and last record numbers and
the numbers (and a CRC32 of the bytes) of the records read from it. When every slot is
in, :func:`settle` compares them, in slot order, so a read by one process and a read by
several give the same account:

- the claims: each chunk header's range, the numbers that belong in unreadable slots
  (zeroed, without signature, cut short) between two readable chunks, and the file
  header's range (its oldest chunk's first record up to its next record number less one);
- records lost: claimed and not read, said per place ("chunk 7 at offset 0x71000 is
  zeroed: records 1201-1388 lost");
- duplicates: a record number read again with the same bytes is kept once (its row
  dropped), with other bytes kept twice; both are said;
- chunks read past the header's count (a dirty or copied log) and truncation.

>>> from exlab.events.evtx_layout import build_file_header, parse_file_header, OK
>>> header = parse_file_header(build_file_header(chunk_count=1, next_record=4), "x.evtx")
>>> chunk = ChunkAccount(0, 0x1000, OK, 65536, 1, 3, array("Q", [1, 2]), array("q", [7, 8]))
>>> account, drop = settle(header, [chunk], [], [])
>>> account.summary(), account.lost_ranges, drop
('claimed 3 = read 2 + lost 1', [('chunk 0 at offset 0x1000', 3, 3)], [])
>>> account.statements
['chunk 0 at offset 0x1000: its header claims records 1-3; record 3 was not read']
"""

from __future__ import annotations

import bisect
import zlib
from array import array
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from exlab.events import evtx_layout as layout
from exlab.parse_report import RecordAccount

#: the most records a chunk can hold (each takes at least 28 bytes after the 512-byte header)
MAX_RECORDS_PER_CHUNK = (layout.CHUNK_SIZE - layout.CHUNK_HEADER_SIZE) // (layout.RECORD_HEADER_SIZE + 4)
UNKNOWN = -1          # the digest of a record whose bytes were not found: never equal to another
_RUNS_SAID = 4        # record-number ranges spelled out per statement

_STATE = {layout.EMPTY: "is zeroed", layout.BAD_SIGNATURE: "has no chunk signature",
          layout.TRUNCATED: "is cut short by the end of the file",
          layout.OK: "has a chunk header that cannot be believed"}


@dataclass(frozen=True)
class ChunkAccount:
    """One 64 KiB slot: where it is, what the walk made of it, what its header claims
    (``first``/``last``: None without a readable header) and the records read from it."""

    index: int
    offset: int
    status: str
    size: int
    first: int | None
    last: int | None
    numbers: array          # "Q": record numbers read, in order
    digests: array          # "q": CRC32 of each record's bytes, UNKNOWN where not found

    @property
    def where(self) -> str:
        return f"chunk {self.index} at offset {self.offset:#x}"

    @property
    def claim(self) -> tuple[int, int] | None:
        """The chunk header's range when it can be believed (numbers from 1, at most a chunk's worth)."""
        if self.first is None or self.last is None:
            return None
        if 1 <= self.first <= self.last and self.last - self.first < MAX_RECORDS_PER_CHUNK:
            return self.first, self.last
        return None


def chunk_account(slot: layout.ChunkSlot, numbers: Sequence[int] = (),
                  digest_of: dict[int, int] | None = None) -> ChunkAccount:
    """The account of one slot, from the numbers of the records read from it and the
    digests of the records its walk found (:func:`record_digests`).

    >>> slot = layout.ChunkSlot(2, 0x21000, bytes(100), layout.TRUNCATED)
    >>> chunk_account(slot).first, chunk_account(slot).where
    (None, 'chunk 2 at offset 0x21000')
    """
    first = last = None
    if slot.data.startswith(layout.CHUNK_SIGNATURE) and len(slot.data) >= 128:
        header = layout.parse_chunk_header(slot.data)
        first, last = header.first_id, header.last_id
    digest_of = digest_of or {}
    return ChunkAccount(slot.index, slot.offset, slot.status, len(slot.data), first, last,
                        array("Q", numbers), array("q", [digest_of.get(n, UNKNOWN) for n in numbers]))


def record_digests(data: bytes, records: Iterable[layout.RecordHeader]) -> dict[int, int]:
    """Record number -> CRC32 of the record's bytes (header, BinXml, size copy), for telling a
    repeated record (a chunk copied twice) from another record under the same number.

    >>> record_digests(b"abcd" * 16, [layout.RecordHeader(0, 32, 5, 0)]) == {5: zlib.crc32(b"abcd" * 8)}
    True
    """
    return {record.number: zlib.crc32(data[record.offset:record.offset + record.size]) for record in records}


def settle(header: layout.FileHeader, chunks: list[ChunkAccount], row_numbers: Sequence[int],
           row_digests: Sequence[int]) -> tuple[RecordAccount, list[int]]:
    """The file's account, and the positions of the rows to drop (repeats of a record read
    before, same number, same bytes). ``chunks`` are every slot in file order; the rows
    (the records kept by the query) are given by number and digest, in read order.

    >>> account, drop = settle(layout.parse_file_header(layout.build_file_header(chunk_count=0), "-"), [], [], [])
    >>> account.claimed, account.claimed_by_header, account.statements, drop
    (0, 0, [], [])
    """
    import numpy as np  # here: helper processes never settle, and start without numpy

    account = RecordAccount()
    statements = account.statements      # what is lost or repeated first, then notes
    notes: list[str] = []
    _say_truncation(header, chunks, account)
    read = np.concatenate([np.frombuffer(c.numbers, dtype=np.uint64) for c in chunks] or
                          [np.empty(0, np.uint64)])
    distinct, counts = np.unique(read, return_counts=True)
    repeats: dict[int, int] = {}     # chunk index -> records dropped from it as repeats
    repeated_said: list[str] = []
    drop = _settle_duplicates(chunks, set(distinct[counts > 1].tolist()), row_numbers, row_digests, account,
                              repeats, repeated_said)

    claims = _claims(header, chunks, account, notes)
    covered: list[tuple[int, int]] = []      # the numbers claimed so far, as sorted disjoint ranges
    read_claimed = 0
    for first, last, tag in claims:
        lost: list[tuple[int, int]] = []
        for low, high in _claim(covered, first, last):
            account.claimed += high - low + 1
            if tag[0] == "chunk":
                account.claimed_by_chunks += high - low + 1
            inside = distinct[np.searchsorted(distinct, np.uint64(low)):
                              np.searchsorted(distinct, np.uint64(high), side="right")]
            read_claimed += len(inside)
            lost.extend(_missing(inside, low, high))
        if lost:
            account.lost += _count(lost)
            statements.append(_lost_statement(tag, header, lost))
            place = _place(tag)
            account.lost_ranges.extend((place, low, high) for low, high in lost)
    account.read = len(distinct)
    account.unclaimed = account.read - read_claimed
    if account.unclaimed:
        notes.append(f"{account.unclaimed:,} record(s) read are claimed by no chunk header or the file header")
    notes.extend(_recovered(header, chunks, account, repeats))
    statements.extend(repeated_said + notes)
    return account, drop


def _claims(header: layout.FileHeader, chunks: list[ChunkAccount], account: RecordAccount,
            notes: list[str]) -> list[tuple[int, int, tuple]]:
    """(first, last, owner) of every claim, the strongest first: chunk headers, the slots
    between two readable chunks, the file header."""
    claims: list[tuple[int, int, tuple]] = []
    between: list[ChunkAccount] = []
    previous: ChunkAccount | None = None
    gaps: list[tuple[int, int, tuple]] = []
    for chunk in chunks:
        claim = chunk.claim
        if claim is None:
            if chunk.first is not None and (chunk.first or chunk.last or len(chunk.numbers)):
                notes.append(f"{chunk.where}: its header claims records {chunk.first}-{chunk.last}, which no "
                             f"chunk can hold (at most {MAX_RECORDS_PER_CHUNK}, from 1 on): not counted as a claim")
            between.append(chunk)
            continue
        claims.append((*claim, ("chunk", chunk)))
        if previous is not None and between:
            first, last = previous.last + 1, claim[0] - 1
            if first <= last and last - first < len(between) * MAX_RECORDS_PER_CHUNK:
                gaps.append((first, last, ("slots", tuple(between))))
        previous, between = chunk, []
    claims.extend(gaps)
    counted = [chunk.claim[0] for chunk in chunks if chunk.index < header.chunk_count and chunk.claim]
    top = header.next_record - 1
    if not counted:
        if top > 0:
            notes.append(f"the file header's next record number is {header.next_record}, but no chunk "
                         "it counts is readable: its claim is not counted")
        else:
            account.claimed_by_header = 0
        return claims
    oldest = min(counted)
    if top < oldest - 1 or top - oldest >= max(header.chunk_count, len(chunks)) * MAX_RECORDS_PER_CHUNK:
        notes.append(f"the file header's next record number {header.next_record} does not fit the "
                     f"chunks it counts (their oldest record is {oldest}): its claim is not counted")
        return claims
    account.claimed_by_header = top - oldest + 1
    if top >= oldest:
        # the slots the header counts after its last readable chunk: where its last records belong
        claims.append((oldest, top, ("header", tuple(chunk for chunk in between if chunk.index < header.chunk_count))))
    return claims


def _claim(covered: list[tuple[int, int]], first: int, last: int) -> list[tuple[int, int]]:
    """The parts of ``first``-``last`` not in ``covered`` (sorted disjoint ranges), now added to it.

    >>> covered = [(5, 9), (20, 30)]
    >>> _claim(covered, 1, 12), covered
    ([(1, 4), (10, 12)], [(1, 12), (20, 30)])
    >>> _claim(covered, 25, 26), covered
    ([], [(1, 12), (20, 30)])
    """
    start = bisect.bisect_left(covered, (first, first))
    if start and covered[start - 1][1] >= first:
        start -= 1
    end = start
    pieces: list[tuple[int, int]] = []
    low = first
    while end < len(covered) and covered[end][0] <= last:
        taken_first, taken_last = covered[end]
        if taken_first > low:
            pieces.append((low, taken_first - 1))
        low = max(low, taken_last + 1)
        end += 1
    if low <= last:
        pieces.append((low, last))
    merged = (min(first, covered[start][0]) if end > start else first,
              max(last, covered[end - 1][1]) if end > start else last)
    covered[start:end] = [merged]
    return pieces


def _missing(inside, low: int, high: int) -> list[tuple[int, int]]:
    """The runs of ``low``-``high`` that the sorted distinct numbers ``inside`` (a numpy array,
    all within the range) leave out.

    >>> import numpy as np
    >>> _missing(np.array([3, 4, 8], dtype=np.uint64), 1, 10)
    [(1, 2), (5, 7), (9, 10)]
    """
    if not len(inside):
        return [(low, high)]
    import numpy as np

    values = inside.tolist()
    runs = [(low, values[0] - 1)] if values[0] > low else []
    runs += [(values[k] + 1, values[k + 1] - 1) for k in np.flatnonzero(np.diff(inside) > 1).tolist()]
    if values[-1] < high:
        runs.append((values[-1] + 1, high))
    return runs


def _lost_statement(tag: tuple, header: layout.FileHeader, runs: list[tuple[int, int]]) -> str:
    said = _said(runs)
    if tag[0] == "chunk":
        chunk = tag[1]
        if chunk.status == layout.TRUNCATED:
            return f"{chunk.where} {_STATE[chunk.status]} ({chunk.size} of {layout.CHUNK_SIZE} bytes): {said} lost"
        return f"{chunk.where}: its header claims records {chunk.first}-{chunk.last}; {said} {_were(_count(runs))} not read"
    if tag[0] == "slots":
        return f"{_slots_said(tag[1])}: {said} lost"
    counted = f"counted by the file header (next record number {header.next_record})"
    if tag[1]:
        return f"{_slots_said(tag[1])}: {said}, {counted}, lost"
    return f"{said}, {counted}, {'are' if _count(runs) > 1 else 'is'} in no chunk of the file: lost"


def _place(tag: tuple) -> str:
    """Where the numbers a claim owns belong: its chunk, its unreadable slots, or no chunk."""
    if tag[0] == "chunk":
        return tag[1].where
    if not tag[1]:
        return "no chunk"
    slots = tag[1]
    if len(slots) == 1:
        return slots[0].where
    return f"chunks {slots[0].index}-{slots[-1].index} at offsets {slots[0].offset:#x}-{slots[-1].offset:#x}"


def _slots_said(slots: tuple[ChunkAccount, ...]) -> str:
    """Unreadable slots and what is wrong with them, in words."""
    states = ", ".join(dict.fromkeys(_STATE[slot.status] for slot in slots))
    if len(slots) == 1:
        return f"{slots[0].where} {states}"
    return f"{_place(('slots', slots))} ({states.replace('is ', '').replace('has ', '')})"


def _settle_duplicates(chunks: list[ChunkAccount], repeated: set[int], row_numbers: Sequence[int],
                       row_digests: Sequence[int], account: RecordAccount, repeats: dict[int, int],
                       said: list[str]) -> list[int]:
    """Count and say (in ``said``) the records read twice, and per chunk how many of its
    records repeat one read before (``repeats``); the positions of the rows that repeat one."""
    if not repeated:
        return []
    seen: dict[int, set[int]] = {}
    for chunk in chunks:
        same: list[int] = []
        other: list[int] = []
        for number, digest in zip(chunk.numbers, chunk.digests):
            if number not in repeated:
                continue
            digests = seen.setdefault(number, set())
            if digests and digest != UNKNOWN and digest in digests:
                same.append(number)
            elif digests:
                other.append(number)
            digests.add(digest)
        if same:
            repeats[chunk.index] = len(same)
            account.duplicates_dropped += len(same)
            said.append(f"{chunk.where} repeats {_said(_runs(same))}, already read with the same "
                                      f"bytes (a copied chunk, as in a shadow copy): {len(same)} duplicate(s) dropped")
        if other:
            account.duplicates_kept += len(other)
            said.append(f"{chunk.where} holds {_said(_runs(other))} under number(s) already read "
                                      f"with other content: {len(other)} kept as well")
    drop: list[int] = []
    kept: set[tuple[int, int]] = set()
    for position, (number, digest) in enumerate(zip(row_numbers, row_digests)):
        if number in repeated and digest != UNKNOWN:
            if (number, digest) in kept:
                drop.append(position)
            kept.add((number, digest))
    return drop


def _say_truncation(header: layout.FileHeader, chunks: list[ChunkAccount], account: RecordAccount) -> None:
    if chunks and chunks[-1].status == layout.TRUNCATED:
        account.truncated = True
        account.statements.append(f"the file ends {chunks[-1].size} bytes into {chunks[-1].where}: it is truncated")
    if len(chunks) < header.chunk_count:
        account.truncated = True
        end = layout.FILE_HEADER_SIZE + layout.CHUNK_SIZE * (len(chunks) - 1) + chunks[-1].size if chunks \
            else layout.FILE_HEADER_SIZE
        account.statements.append(f"the file header counts {header.chunk_count} chunks, the file ends at offset "
                                  f"{end:#x} after {len(chunks)}: it is truncated")


def _recovered(header: layout.FileHeader, chunks: list[ChunkAccount], account: RecordAccount,
               repeats: dict[int, int]) -> list[str]:
    past = [chunk for chunk in chunks if chunk.index >= header.chunk_count and len(chunk.numbers)]
    if not past:
        return []
    account.chunks_recovered = len(past)
    indexes = _said(_runs([chunk.index for chunk in past]), "chunk")
    new = sum(len(chunk.numbers) - repeats.get(chunk.index, 0) for chunk in past)
    return [(f"{indexes} past the {header.chunk_count} the file header counts {_were(len(past))} read: "
             f"{new:,} record(s) recovered")]


def _runs(numbers: list[int]) -> list[tuple[int, int]]:
    """Consecutive runs of sorted numbers.

    >>> _runs([1, 2, 3, 7, 9, 10])
    [(1, 3), (7, 7), (9, 10)]
    """
    runs: list[tuple[int, int]] = []
    for number in sorted(numbers):
        if runs and number == runs[-1][1] + 1:
            runs[-1] = (runs[-1][0], number)
        else:
            runs.append((number, number))
    return runs


def _said(runs: list[tuple[int, int]], noun: str = "record") -> str:
    """Runs in words: the first few, then how many more.

    >>> _said([(1201, 1388)]), _said([(5, 5)]), _said([(1, 2), (4, 4)], "chunk")
    ('records 1201-1388', 'record 5', 'chunks 1-2, 4')
    """
    total = _count(runs)
    text = ", ".join(f"{first}-{last}" if last > first else f"{first}" for first, last in runs[:_RUNS_SAID])
    if len(runs) > _RUNS_SAID:
        text += f" and {len(runs) - _RUNS_SAID} more range(s), {total} in all"
    return f"{noun}{'s' if total > 1 else ''} {text}"


def _count(runs: list[tuple[int, int]]) -> int:
    return sum(last - first + 1 for first, last in runs)


def _were(count: int) -> str:
    return "were" if count > 1 else "was"

