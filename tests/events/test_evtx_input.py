"""Bad .evtx input, damaged chunks and records, and filters that keep an exact subset."""

from __future__ import annotations

import io
import warnings

import pandas as pd
import pytest

import exlab
from exlab.errors import CorruptInput, UnsupportedFormat
from exlab.events import evtx_layout as layout
from tests.conftest import corpus_files

ENGINES = ["evtx", "python-evtx"]


def corpus_path(name: str):
    path = next((f.path for f in corpus_files() if f.path.name == name), None)
    if path is None:
        pytest.skip("public corpus not found")
    return path


def read_quietly(source, **kwargs) -> pd.DataFrame:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", exlab.DataLossWarning)
        return exlab.read_events(source, **kwargs)


@pytest.mark.parametrize("engine", ENGINES)
def test_empty_file_is_unsupported(tmp_path, engine):
    path = tmp_path / "Application.evtx"
    path.write_bytes(b"")
    with pytest.raises(UnsupportedFormat, match="Application.evtx, the file is empty"):
        exlab.read_events(path, engine=engine)


@pytest.mark.parametrize("engine", ENGINES)
def test_random_bytes_named_evtx_are_unsupported(tmp_path, engine):
    path = tmp_path / "System.evtx"
    path.write_bytes(bytes(range(256)) * 300)
    with pytest.raises(UnsupportedFormat, match="System.evtx"):
        exlab.read_events(path, engine=engine)


@pytest.mark.parametrize("engine", ENGINES)
def test_truncated_file_header_is_corrupt(engine):
    stream = io.BytesIO(layout.FILE_SIGNATURE + bytes(40))
    with pytest.raises(CorruptInput, match="file header .48 bytes.: expected a 128-byte .evtx file header"):
        exlab.read_events(stream, engine=engine)


def test_detection_is_by_content_not_name(tmp_path):
    source = corpus_path("omer__Application_no_crc32.evtx")
    renamed = tmp_path / "export.txt"
    renamed.write_bytes(source.read_bytes())
    assert len(read_quietly(renamed)) == 17


@pytest.mark.corpus
@pytest.mark.parametrize("engine", ENGINES)
def test_flipped_chunk_signature_loses_that_chunk_only(tmp_path, engine):
    source = corpus_path("omer__security.evtx")
    data = bytearray(source.read_bytes())
    whole = read_quietly(source, engine="evtx")
    second = layout.FILE_HEADER_SIZE + layout.CHUNK_SIZE
    in_chunk = len(layout.walk_records(bytes(data[second:second + layout.CHUNK_SIZE])).records)
    data[second:second + 8] = b"XXXXXXXX"
    damaged = tmp_path / "security.evtx"
    damaged.write_bytes(bytes(data))
    with pytest.warns(exlab.DataLossWarning, match="skipped 0 record.s. and 1 chunk"):
        frame = exlab.read_events(damaged, engine=engine, event_ids=[4624, 4672])
    report = frame.attrs["parse_report"].files[0]
    assert report.chunks_skipped == 1 and report.records_skipped == 0
    assert report.losses[0].where == "chunk 1 at offset 0x11000"
    expected = whole[whole["event_id"].isin([4624, 4672])]
    assert len(frame) < len(expected) <= len(frame) + in_chunk


@pytest.mark.corpus
@pytest.mark.parametrize("engine", ENGINES)
def test_damaged_record_header_counts_a_record_loss(tmp_path, engine):
    source = corpus_path("omer__Application_no_crc32.evtx")
    data = bytearray(source.read_bytes())
    chunk = layout.FILE_HEADER_SIZE
    records = layout.walk_records(bytes(data[chunk:chunk + layout.CHUNK_SIZE])).records
    tenth = chunk + records[9].offset
    data[tenth:tenth + 4] = b"\xde\xad\xbe\xef"
    damaged = tmp_path / "Application.evtx"
    damaged.write_bytes(bytes(data))
    with pytest.warns(exlab.DataLossWarning):
        frame = exlab.read_events(damaged, engine=engine)
    report = frame.attrs["parse_report"].files[0]
    assert len(frame) == 9
    assert report.records_skipped == 1
    assert report.losses[0].where == f"chunk 0 at offset 0x1000, record header at offset {tenth:#x}"
    assert "the rest of the chunk is unreadable" in report.losses[0].reason


@pytest.mark.corpus
def test_file_cut_inside_a_chunk_counts_the_tail(tmp_path):
    source = corpus_path("omer__system.evtx")
    data = source.read_bytes()
    cut = tmp_path / "system.evtx"
    cut.write_bytes(data[: layout.FILE_HEADER_SIZE + 2 * layout.CHUNK_SIZE + 1000])
    frame = read_quietly(cut)
    report = frame.attrs["parse_report"].files[0]
    assert [loss.where for loss in report.losses] == ["chunk 2 at offset 0x21000"]
    assert "file ends 1000 bytes into" in report.losses[0].reason
    whole = read_quietly(source)
    first_two = whole[whole["record_number"].isin(frame["record_number"])]
    assert len(frame) == len(first_two) > 0


@pytest.mark.corpus
def test_dirty_header_chunk_count_is_not_trusted():
    frame = read_quietly(corpus_path("omer__system.evtx"))
    report = frame.attrs["parse_report"].files[0]
    assert len(frame) == 1881
    assert any("counts 3 chunks, the file holds 15" in note for note in report.warnings)


@pytest.fixture(scope="module")
def application():
    return read_quietly(corpus_path("deepblue__many-events-application.evtx"))


def subset(frame: pd.DataFrame, mask) -> pd.DataFrame:
    return frame[mask].reset_index(drop=True)


def same(filtered: pd.DataFrame, expected: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(filtered.reset_index(drop=True), expected.reset_index(drop=True))


@pytest.mark.corpus
def test_event_id_filter_is_the_exact_subset(application):
    path = corpus_path("deepblue__many-events-application.evtx")
    filtered = read_quietly(path, event_ids=[1000, 1033])
    expected = subset(application, application["event_id"].isin([1000, 1033]))
    assert len(expected) == 136 + 35
    same(filtered, expected)
    assert filtered.attrs["parse_report"].files[0].records_read == 2216


@pytest.mark.corpus
def test_provider_filter_is_case_insensitive_and_exact(application):
    path = corpus_path("deepblue__many-events-application.evtx")
    filtered = read_quietly(path, providers=["msiinstaller"])
    expected = subset(application, application["provider"].str.lower().eq("msiinstaller").fillna(False))
    assert len(expected) > 0
    same(filtered, expected)


@pytest.mark.corpus
def test_time_filter_is_exact_at_100ns(application):
    path = corpus_path("deepblue__many-events-application.evtx")
    times = application["time_created"].dropna().sort_values()
    start, end = times.iloc[100], times.iloc[900]
    filtered = read_quietly(path, start=start, end=end)
    created = application["time_created"]
    expected = subset(application, (created >= start) & (created < end))
    assert len(expected) >= 800
    same(filtered, expected)


@pytest.mark.corpus
@pytest.mark.parametrize("engine", ENGINES)
def test_chunk_with_no_readable_record_counts_as_a_chunk(tmp_path, engine):
    source = corpus_path("omer__Application_no_crc32.evtx")
    data = bytearray(source.read_bytes())
    first = layout.FILE_HEADER_SIZE + layout.CHUNK_HEADER_SIZE
    data[first:first + 4] = b"\xde\xad\xbe\xef"
    damaged = tmp_path / "Application.evtx"
    damaged.write_bytes(bytes(data))
    frame = read_quietly(damaged, engine=engine)
    report = frame.attrs["parse_report"].files[0]
    assert len(frame) == 0
    assert (report.chunks_skipped, report.records_skipped) == (1, 0)
    assert report.losses[0].where == f"chunk 0 at offset 0x1000, record header at offset {first:#x}"


@pytest.mark.corpus
def test_scrambled_chunk_body_is_one_chunk_loss(tmp_path):
    """Records and string table of one chunk overwritten: pyevtx-rs cannot parse the chunk."""
    source = corpus_path("omer__security.evtx")
    data = bytearray(source.read_bytes())
    second = layout.FILE_HEADER_SIZE + layout.CHUNK_SIZE
    end = second + layout.parse_chunk_header(bytes(data[second:second + 512])).free_space_offset
    data[second + layout.CHUNK_HEADER_SIZE:end] = bytes(b ^ 0xA5 for b in data[second + 512:end])
    damaged = tmp_path / "security.evtx"
    damaged.write_bytes(bytes(data))
    whole = read_quietly(source)
    frame = read_quietly(damaged)
    report = frame.attrs["parse_report"].files[0]
    assert [(loss.kind, loss.where) for loss in report.losses] == [("chunk", "chunk 1 at offset 0x11000")]
    lost = layout.walk_records(source.read_bytes()[second:second + layout.CHUNK_SIZE]).records
    assert len(frame) == len(whole) - len(lost)
    assert set(whole["record_number"]) - set(frame["record_number"]) == {r.number for r in lost}
