"""A big .evtx ingested as a task per span of chunks, then one task assembling it (in this process
here; on a Dask cluster in test_distributed.py): the store holds what ``read_events`` reads."""

from __future__ import annotations

import pytest

from exlab.events import evtx_format
from exlab.fleet import IngestIncomplete, ingestion
from exlab.fleet.ingestion import plan, span_jobs
from tests.fleet.spans import SPAN_CHUNKS, assert_store_is_the_direct_read, damage, direct_read, write_server_log
from tests.fleet.test_store import quiet_ingest


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    return write_server_log(tmp_path_factory.mktemp("spans"))


def assembled_ingest(*args, **kwargs):
    """An ingest whose assembling task must build the file from its spans: the reader's own read fails."""
    def refuse(*args, **kwargs):
        raise AssertionError("the .evtx file was read again instead of assembled from its spans")

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(evtx_format, "ordered_map", refuse)
        return quiet_ingest(*args, **kwargs)


def test_a_big_evtx_is_planned_as_spans_covering_every_chunk(server):
    batch = plan([server])[0][0]
    jobs = span_jobs(batch, span_size=0, span_chunks=SPAN_CHUNKS)
    chunks = -(-(batch.sizes[0] - 4096) // 65536)
    assert [span.first for span, _, _ in jobs] == list(range(0, chunks, SPAN_CHUNKS)) and len(jobs) >= 4
    assert {file for _, _, file in jobs} == {str(server / "Application.evtx")}
    assert span_jobs(batch, span_size=batch.sizes[0] + 1) == []      # below the threshold: one task


def test_spans_assembled_equal_a_direct_read(server, tmp_path):
    result = assembled_ingest([server], tmp_path / "store", span_size=0, span_chunks=SPAN_CHUNKS)
    assert result.rows == {"events": 3000}
    assert_store_is_the_direct_read(tmp_path / "store", server)


def test_a_damaged_log_is_accounted_as_read_events_accounts_it(server, tmp_path):
    damaged = tmp_path / "case"
    damaged.mkdir()
    copy = write_server_log(damaged)
    damage(copy / "Application.evtx")
    assembled_ingest([copy], tmp_path / "store", span_size=0, span_chunks=SPAN_CHUNKS)
    assert_store_is_the_direct_read(tmp_path / "store", copy)
    account = direct_read(copy)[1][0].account
    assert account.lost > 0 and account.duplicates_dropped > 0 and any("zeroed" in s for s in account.statements)


def test_a_span_that_fails_names_the_file_and_a_rerun_completes_it(server, tmp_path, monkeypatch):
    real = evtx_format.read_batch

    def dies_on_the_third(span, query, file):
        if span.first == 2 * SPAN_CHUNKS:
            raise OSError("worker lost")
        return real(span, query, file)

    monkeypatch.setattr(evtx_format, "read_batch", dies_on_the_third)
    monkeypatch.setattr(ingestion, "cores", lambda: 1)       # spans read by this process, which sees the patch
    with pytest.raises(IngestIncomplete) as failed:
        quiet_ingest([server], tmp_path / "store", span_size=0, span_chunks=SPAN_CHUNKS)
    assert failed.value.result.failed == [(["EX01/Application.evtx"], "OSError: worker lost")]
    monkeypatch.setattr(evtx_format, "read_batch", real)
    assert quiet_ingest([server], tmp_path / "store", span_size=0, span_chunks=SPAN_CHUNKS).rows == {"events": 3000}
    assert_store_is_the_direct_read(tmp_path / "store", server)
