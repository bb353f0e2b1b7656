"""A .evtx file read by helper processes gives the frame and the parse report of a read
in one process: every corpus file, dirty and damaged ones included, and a damaged copy."""

from __future__ import annotations

import warnings

import pandas as pd
import pytest

import exlab
from exlab.events import evtx_format
from exlab.events import evtx_layout as layout
from exlab.evidence import iter_evidence
from tests.conftest import corpus_files

FILES = corpus_files()


def read(path, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", exlab.DataLossWarning)
        return exlab.read_events(path, **kwargs)


def assert_same_read(one, many):
    pd.testing.assert_frame_equal(one, many)
    alone, shared = one.attrs["parse_report"].files[0], many.attrs["parse_report"].files[0]
    assert (shared.records_read, shared.losses, shared.warnings, shared.account) == (
        alone.records_read, alone.losses, alone.warnings, alone.account)


@pytest.fixture
def small_batches(monkeypatch):
    """Batches of two chunks, so that a corpus file makes work for several processes."""
    monkeypatch.setattr(evtx_format, "BATCH_CHUNKS", 2)


@pytest.mark.corpus
@pytest.mark.parametrize("truth", FILES, ids=[f.path.name for f in FILES])
def test_corpus_file_read_by_three_processes(truth, small_batches):
    assert_same_read(read(truth.path, workers=1), read(truth.path, workers=3))


@pytest.mark.corpus
@pytest.mark.parametrize("engine", ["evtx", "python-evtx"])
def test_damaged_chunk_and_record_read_by_helpers(tmp_path, small_batches, engine):
    source = next((f.path for f in FILES if f.path.name == "omer__security.evtx"), None)
    if source is None:
        pytest.skip("public corpus not found")
    data = bytearray(source.read_bytes())
    second = layout.FILE_HEADER_SIZE + layout.CHUNK_SIZE
    data[second:second + 8] = b"XXXXXXXX"                       # a chunk without its signature
    fifth = layout.FILE_HEADER_SIZE + 4 * layout.CHUNK_SIZE
    record = fifth + layout.CHUNK_HEADER_SIZE + layout.walk_records(
        bytes(data[fifth:fifth + layout.CHUNK_SIZE])).records[3].offset
    data[record:record + 4] = b"\xde\xad\xbe\xef"               # a record header without its magic
    damaged = tmp_path / "Security.evtx"
    damaged.write_bytes(bytes(data))
    one, many = read(damaged, engine=engine, workers=1), read(damaged, engine=engine, workers=2)
    assert_same_read(one, many)
    assert many.attrs["parse_report"].files[0].chunks_skipped >= 1


def test_streams_and_small_files_stay_in_this_process(tmp_path):
    big = layout.build_file_header(chunk_count=0) + bytes(evtx_format.PARALLEL_SIZE)
    path = tmp_path / "blank.evtx"
    path.write_bytes(big)
    evidence = next(iter(iter_evidence(path)))
    assert evtx_format._helpers(evtx_format.EventQuery.build(workers=1), evidence) == 0
    assert evtx_format._helpers(evtx_format.EventQuery.build(workers=4), evidence) == 3
    evidence.stream.close()


def test_workers_must_be_a_whole_number():
    with pytest.raises(ValueError, match="workers"):
        exlab.read_events(__file__, workers=0)


@pytest.mark.corpus
@pytest.mark.parametrize("workers", [1, 2])
def test_a_file_that_changes_while_it_is_read_is_refused(tmp_path, small_batches, monkeypatch, workers):
    source = next((f.path for f in FILES if f.path.name == "omer__security.evtx"), None)
    if source is None:
        pytest.skip("public corpus not found")
    live = tmp_path / "Security.evtx"
    live.write_bytes(source.read_bytes())
    chunks = layout.iter_chunks

    def read_then_grow(*args, **kwargs):
        yield from chunks(*args, **kwargs)
        with open(live, "ab") as log:           # the log grows, as a live one does
            log.write(bytes(layout.CHUNK_SIZE))

    monkeypatch.setattr(layout, "iter_chunks", read_then_grow)
    with pytest.raises(exlab.EvidenceChanged, match="Security.evtx, .*: expected the file as it was hashed"):
        read(live, workers=workers)
