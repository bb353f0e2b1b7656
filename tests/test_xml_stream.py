"""The parser gets whole tags: linear CliXml reading, and the cap on one tag or text run."""

from __future__ import annotations

import io
import tracemalloc

import pytest

from exlab.clixml import PS_NS, iter_items
from exlab.lab import oversized
from exlab.limits import MAX_FIELD, OverLimit
from exlab.xml_stream import MarkupAlignedReader


def blocks(data, block: int = 4096, cap: int = MAX_FIELD):
    reader = MarkupAlignedReader(io.BytesIO(data) if isinstance(data, bytes) else io.StringIO(data), "h.xml",
                                 block=block, cap=cap)
    return list(iter(lambda: reader.read(block), data[:0])), reader


def ends(chunks) -> list[int]:
    """Where each block but the last ends in the stream."""
    offsets, total = [], 0
    for chunk in chunks[:-1]:
        total += len(chunk)
        offsets.append(total)
    return offsets


def inside_a_tag(data: bytes, end: int) -> bool:
    """Whether a UTF-16 LE block ending at byte ``end`` cuts a tag (the shapes put no ``>`` in attributes)."""
    return data.rfind(b"<\x00", 0, end) > data.rfind(b">\x00", 0, end)


@pytest.mark.parametrize("shape", oversized.CLIXML_SHAPES)
@pytest.mark.parametrize("size", [10_000, 100_000])
def test_every_byte_is_searched_once_and_no_block_ends_inside_a_tag(shape, size):
    data = oversized.clixml(shape, size)
    chunks, reader = blocks(data)
    assert b"".join(chunks) == data
    # each byte looked at once by the search, a few again where a block ended: linear
    assert reader.examined <= len(data) + 32 * len(chunks)
    assert not any(inside_a_tag(data, end) for end in ends(chunks))


def test_a_huge_attribute_reaches_the_parser_in_one_block_and_reads_whole():
    data = oversized.clixml("attribute", 300_000)
    chunks, _ = blocks(data, block=1024)
    [tag_block] = [chunk for chunk in chunks if "<S N=".encode("utf-16-le") in chunk]
    assert '">x</S>'.encode("utf-16-le")[:4] in tag_block
    [item] = iter_items(io.BytesIO(data), "h.xml")
    assert list(item.value) == ["a" * 300_000] and item.value["a" * 300_000] == "x"


def test_utf16_units_misread_as_markup_do_not_cut_a_tag():
    # U+3E00 is the bytes 00 3E in UTF-16 LE: a '>' to a search that ignored the alignment
    value = "\u3e00\u3c00\u2200" * 3000
    doc = f'<Objs xmlns="{PS_NS}"><Obj RefId="0"><MS><S N="{value}">x</S></MS></Obj></Objs>'
    data = "\ufeff".encode("utf-16-le") + doc.encode("utf-16-le")
    chunks, _ = blocks(data, block=512)
    [tag_block] = [chunk for chunk in chunks if "<S N=".encode("utf-16-le") in chunk]
    assert value.encode("utf-16-le") in tag_block
    [item] = iter_items(io.BytesIO(data), "h.xml")
    assert item.value == {value: "x"}


def test_comments_cdata_and_quoted_brackets_are_whole_tokens():
    tokens = ["<a b='>' c=\"<\">", "<!-- <x> -->", "<![CDATA[ <y> ]]>", "<?pi > ?>", "text", "</a>"]
    doc = "".join(tokens)
    token_ends = {len("".join(tokens[:count])) for count in range(1, len(tokens))}
    text_start = doc.index("text")
    for block in (1, 2, 3, 5, 8):
        chunks, _ = blocks(doc, block=block)
        assert "".join(chunks) == doc
        assert all(end in token_ends or text_start < end < text_start + 4 for end in ends(chunks))


@pytest.mark.parametrize("shape, what", [("attribute", "a tag"), ("text", "text between two tags")])
def test_a_tag_or_text_over_the_cap_is_refused_naming_the_file_and_place(shape, what):
    data = oversized.clixml(shape, 5000)
    with pytest.raises(OverLimit, match=f"h.xml, byte \\d+: expected {what}.* of at most 4 KiB"):
        blocks(data, cap=4096)


def test_clixml_refuses_an_attribute_over_16_mib():
    data = f'<Objs xmlns="{PS_NS}"><S N="'.encode() + b"a" * (MAX_FIELD + 1) + b'">x</S></Objs>'
    place = data.index(b"<S ")
    with pytest.raises(OverLimit, match=rf"big.xml, byte {place}: expected a tag .* of at most 16 MiB"):
        list(iter_items(io.BytesIO(data), "big.xml"))


def test_memory_of_many_tiny_objects_does_not_grow_with_their_number(monkeypatch):
    monkeypatch.setattr("exlab.limits.BLOCK", 4096)   # so that both sizes span many blocks
    peaks = []
    for count in (5_000, 50_000):
        stream = io.BytesIO(oversized.clixml("tiny", count))
        tracemalloc.start()
        assert sum(1 for _ in iter_items(stream, "tiny.xml")) == count
        peaks.append(tracemalloc.get_traced_memory()[1])
        tracemalloc.stop()
    assert peaks[1] < 2 * peaks[0]


def test_deep_nesting_is_one_item_read_in_linear_time():
    data = oversized.clixml("deep", 50_000)
    chunks, reader = blocks(data)
    assert reader.examined <= len(data) + 32 * len(chunks)
    [item] = iter_items(io.BytesIO(data), "deep.xml")
    assert item.position == 1
