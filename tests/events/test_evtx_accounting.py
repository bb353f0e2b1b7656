"""The account of an .evtx file's records: claimed by the file and chunk headers, read, lost
(and where), duplicates, chunks recovered past the header's count, truncation. Files from the
lab's writer, damaged by byte surgery, read by both engines in one process and in three."""

from __future__ import annotations

import warnings

import pandas as pd
import pytest

import exlab
from exlab.events import evtx_format
from exlab.events import evtx_layout as layout
from exlab.errors import DataLossWarning
from exlab.lab.evtx_writer import write_evtx
from tests.conftest import corpus_files

ENGINES = ["evtx", "python-evtx"]
PER_CHUNK = 76            # records of the rows below in one chunk; 350 rows fill chunks 0-4
RECORDS = 350


def rows(filler: str = "x") -> list[dict]:
    return [{"time_created": 1_742_462_042_000_000_000 + n * 10**9, "computer": "EX01",
             "channel": "Application", "provider": "MSExchangeTransport", "event_id": 12014,
             "qualifiers": 49156, "level": 2, "task": 12, "keywords": "0x80000000000000",
             "record_id": 1 + n, "data": {"%1": "mail.contoso.com", "%2": filler * 300}}
            for n in range(RECORDS)]


def slot(index: int) -> int:
    return layout.FILE_HEADER_SIZE + index * layout.CHUNK_SIZE


def whole_file(tmp_path, clean: bytes):
    path = tmp_path / "whole.evtx"
    path.write_bytes(clean)
    return path


@pytest.fixture(scope="module")
def clean() -> bytes:
    import io
    stream = io.BytesIO()
    written = write_evtx(stream, rows())
    assert written.records_per_chunk == (76, 76, 76, 76, 46)
    return stream.getvalue()


@pytest.fixture(autouse=True)
def small_batches(monkeypatch):
    """Batches of two chunks: a five-chunk file gives three batches, two for helper processes."""
    monkeypatch.setattr(evtx_format, "BATCH_CHUNKS", 2)


@pytest.fixture(params=[(engine, workers) for engine in ENGINES for workers in (1, 3)],
                ids=lambda p: f"{p[0]}-workers{p[1]}")
def how(request):
    return dict(zip(("engine", "workers"), request.param))


def read(path, **kwargs):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        frame = exlab.read_events(path, **kwargs)
    report = frame.attrs["parse_report"].files[0]
    return frame, report, [w for w in caught if issubclass(w.category, exlab.ExlabWarning)]


def numbers(account) -> tuple:
    return (account.claimed_by_header, account.claimed_by_chunks, account.claimed, account.read, account.lost,
            account.unclaimed, account.duplicates_dropped, account.duplicates_kept, account.chunks_recovered,
            account.truncated)


def test_clean_file_balances_and_says_nothing(tmp_path, clean, how):
    path = tmp_path / "Application.evtx"
    path.write_bytes(clean)
    frame, report, caught = read(path, **how)
    assert numbers(report.account) == (350, 350, 350, 350, 0, 0, 0, 0, 0, False)
    assert report.account.statements == [] and caught == []
    assert len(frame) == report.records_read == 350


def test_file_cut_inside_a_chunk(tmp_path, clean, how):
    """The records wholly before the cut (229-261) are read; the rest of the chunk and the
    chunk the file no longer holds are lost, and said."""
    path = tmp_path / "Application.evtx"
    path.write_bytes(clean[:slot(3) + 30000])
    frame, report, caught = read(path, **how)
    assert numbers(report.account) == (350, 304, 350, 261, 89, 0, 0, 0, 0, True)
    assert report.account.statements == [
        "the file ends 30000 bytes into chunk 3 at offset 0x31000: it is truncated",
        "the file header counts 5 chunks, the file ends at offset 0x38530 after 4: it is truncated",
        "chunk 3 at offset 0x31000 is cut short by the end of the file (30000 of 65536 bytes): records 262-304 lost",
        "records 305-350, counted by the file header (next record number 351), are in no chunk of the file: lost",
    ]
    assert report.account.lost_ranges == [("chunk 3 at offset 0x31000", 262, 304), ("no chunk", 305, 350)]
    assert len(frame) == report.records_read == 261
    assert [(loss.kind, loss.where) for loss in report.losses] == [
        ("record", "chunk 3 at offset 0x31000, record header at offset 0x38270")]
    whole, _, _ = read(whole_file(tmp_path, clean), **how)
    pd.testing.assert_frame_equal(frame.drop(columns="source"), whole.iloc[:261].drop(columns="source"))
    assert [str(w.message) for w in caught] == [         # one warning for the file
        ("the file ends 30000 bytes into chunk 3 at offset 0x31000: it is truncated. claimed 350 = read 261 "
         "+ lost 89; the engine skipped 1 record(s) and 0 chunk(s); see the parse report")]
    assert caught[0].category is exlab.DataLossWarning


def test_file_shorter_than_its_header_says(tmp_path, clean, how):
    path = tmp_path / "Application.evtx"
    path.write_bytes(clean[:slot(3)])
    frame, report, _ = read(path, **how)
    assert numbers(report.account) == (350, 228, 350, 228, 122, 0, 0, 0, 0, True)
    assert report.account.statements == [
        "the file header counts 5 chunks, the file ends at offset 0x31000 after 3: it is truncated",
        "records 229-350, counted by the file header (next record number 351), are in no chunk of the file: lost",
    ]
    assert len(frame) == 228 and report.losses == []     # nothing the engines could have counted


def test_zeroed_chunk(tmp_path, clean, how):
    data = bytearray(clean)
    data[slot(2):slot(3)] = bytes(layout.CHUNK_SIZE)
    path = tmp_path / "Application.evtx"
    path.write_bytes(bytes(data))
    frame, report, caught = read(path, **how)
    assert numbers(report.account) == (350, 274, 350, 274, 76, 0, 0, 0, 0, False)
    assert report.account.statements == ["chunk 2 at offset 0x21000 is zeroed: records 153-228 lost"]
    assert report.account.lost_ranges == [("chunk 2 at offset 0x21000", 153, 228)]
    assert len(frame) == report.records_read == 274
    assert not frame["record_number"].between(153, 228).any()
    assert [str(w.message) for w in caught] == [
        ("chunk 2 at offset 0x21000 is zeroed: records 153-228 lost. claimed 350 = read 274 + lost 76; "
         "see the parse report")]
    assert caught[0].category is exlab.DataLossWarning and caught[0].filename == str(path)


def test_zeroed_last_chunk_is_named_by_the_header(tmp_path, clean, how):
    data = bytearray(clean)
    data[slot(4):] = bytes(len(data) - slot(4))
    path = tmp_path / "Application.evtx"
    path.write_bytes(bytes(data))
    _, report, _ = read(path, **how)
    assert numbers(report.account) == (350, 304, 350, 304, 46, 0, 0, 0, 0, False)
    assert report.account.statements == [
        ("chunk 4 at offset 0x41000 is zeroed: records 305-350, counted by the file header "
         "(next record number 351), lost")]
    assert report.account.lost_ranges == [("chunk 4 at offset 0x41000", 305, 350)]


def test_chunk_without_signature(tmp_path, clean, how):
    data = bytearray(clean)
    data[slot(1):slot(1) + 8] = b"XXXXXXXX"
    path = tmp_path / "Application.evtx"
    path.write_bytes(bytes(data))
    _, report, _ = read(path, **how)
    assert numbers(report.account) == (350, 274, 350, 274, 76, 0, 0, 0, 0, False)
    assert report.account.statements == ["chunk 1 at offset 0x11000 has no chunk signature: records 77-152 lost"]
    assert report.chunks_skipped == 1


def test_chunk_copied_twice_is_read_once(tmp_path, clean, how):
    """A shadow copy's duplicated chunk: the same records, byte for byte, past the header's count."""
    path = tmp_path / "Application.evtx"
    path.write_bytes(clean + clean[slot(1):slot(2)])
    frame, report, caught = read(path, **how)
    assert numbers(report.account) == (350, 350, 350, 350, 0, 0, 76, 0, 1, False)
    assert report.account.statements == [
        ("chunk 5 at offset 0x51000 repeats records 77-152, already read with the same bytes "
         "(a copied chunk, as in a shadow copy): 76 duplicate(s) dropped"),
        "chunk 5 past the 5 the file header counts was read: 0 record(s) recovered"]
    assert len(frame) == report.records_read == 350
    assert frame["record_number"].is_unique
    assert [w.category for w in caught] == [exlab.ExlabWarning]


def test_chunk_copied_over_another(tmp_path, clean, how):
    """A copy of chunk 1 where chunk 2 was: chunk 2's records are lost, chunk 1's read once."""
    data = bytearray(clean)
    data[slot(2):slot(3)] = clean[slot(1):slot(2)]
    path = tmp_path / "Application.evtx"
    path.write_bytes(bytes(data))
    frame, report, _ = read(path, **how)
    assert numbers(report.account) == (350, 274, 350, 274, 76, 0, 76, 0, 0, False)
    assert report.account.statements == [
        "records 153-228, counted by the file header (next record number 351), are in no chunk of the file: lost",
        ("chunk 2 at offset 0x21000 repeats records 77-152, already read with the same bytes "
         "(a copied chunk, as in a shadow copy): 76 duplicate(s) dropped")]
    assert len(frame) == report.records_read == 274


def test_same_numbers_with_other_content_are_all_kept(tmp_path, clean, how):
    import io
    other = io.BytesIO()
    write_evtx(other, rows(filler="y"))
    path = tmp_path / "Application.evtx"
    path.write_bytes(clean + other.getvalue()[slot(1):slot(2)])
    frame, report, _ = read(path, **how)
    assert numbers(report.account) == (350, 350, 350, 350, 0, 0, 0, 76, 1, False)
    assert report.account.statements == [
        ("chunk 5 at offset 0x51000 holds records 77-152 under number(s) already read with other content: "
         "76 kept as well"),
        "chunk 5 past the 5 the file header counts was read: 76 record(s) recovered"]
    assert len(frame) == report.records_read == 426
    twice = frame[frame["record_number"] == 100]["data"].map(lambda data: data["%2"][0]).tolist()
    assert twice == ["x", "y"]


def test_chunks_past_the_header_count(tmp_path, how):
    path = tmp_path / "Application.evtx"
    write_evtx(path, rows(), dirty=True, header_chunk_count=3)
    frame, report, caught = read(path, **how)
    assert numbers(report.account) == (228, 350, 350, 350, 0, 0, 0, 0, 2, False)
    assert report.account.statements == [
        "chunks 3-4 past the 3 the file header counts were read: 122 record(s) recovered"]
    assert len(frame) == 350
    assert caught == []        # a copy of a live log: nothing lost, said in the parse report only


def test_a_query_keeps_the_account_of_the_whole_file(tmp_path, clean, how):
    """Filters choose rows; the account still counts every record of the file."""
    path = tmp_path / "Application.evtx"
    path.write_bytes(clean + clean[slot(1):slot(2)])
    frame, report, _ = read(path, event_ids=[12014], start="2025-03-20T09:17:00Z", **how)
    assert report.account.duplicates_dropped == 76 and report.account.read == 350
    assert frame["record_number"].is_unique and len(frame) < 350


def test_account_is_in_the_parse_report_frame(tmp_path, clean):
    data = bytearray(clean)
    data[slot(2):slot(3)] = bytes(layout.CHUNK_SIZE)
    path = tmp_path / "Application.evtx"
    path.write_bytes(bytes(data))
    frame, _, _ = read(path)
    table = frame.attrs["parse_report"].to_frame()
    assert table.loc[0, ["records_claimed", "records_lost", "duplicates_dropped", "chunks_recovered"]].tolist() == \
        [350, 76, 0, 0]
    assert table.loc[0, "accounting"] == ("claimed 350 = read 274 + lost 76; "
                                          "chunk 2 at offset 0x21000 is zeroed: records 153-228 lost")
    assert str(table["records_lost"].dtype) == "Int64"


# --- the public corpus ------------------------------------------------------------------------

FILES = corpus_files()


@pytest.mark.corpus
@pytest.mark.parametrize("engine", ["evtx", pytest.param("python-evtx", marks=pytest.mark.slow)])
@pytest.mark.parametrize("truth", FILES, ids=[f.path.name for f in FILES])
def test_corpus_accounts_balance_and_name_every_loss(truth, engine):
    frame, report, _ = read(truth.path, engine=engine)
    account = report.account
    assert account.balanced and account.claimed == account.read - account.unclaimed + account.lost
    assert len(frame) == report.records_read
    if engine == "evtx":
        assert report.records_read == truth.records             # EXPECTED's count still holds
    assert account.read + account.duplicates_kept == report.records_read
    assert sum(last - first + 1 for _, first, last in account.lost_ranges) == account.lost
    places = {where for where, _, _ in account.lost_ranges}
    assert all(any(statement.startswith(place) or place == "no chunk" for statement in account.statements)
               for place in places)


@pytest.mark.corpus
@pytest.mark.parametrize("truth", FILES, ids=[f.path.name for f in FILES])
def test_corpus_account_is_the_same_from_three_processes(truth):
    _, alone, _ = read(truth.path, workers=1)
    _, shared, _ = read(truth.path, workers=3)
    assert shared.account == alone.account


@pytest.mark.corpus
def test_corpus_examples():
    by_name = {f.path.name: f.path for f in FILES}
    if "omer__sample_with_a_bad_chunk_magic.evtx" not in by_name:
        pytest.skip("public corpus not found")
    _, report, _ = read(by_name["omer__sample_with_a_bad_chunk_magic.evtx"])
    assert report.account.claimed_by_header is None      # its next record number 4309 is stale
    assert ("chunks 1-6 at offsets 0x11000-0x61000 (zeroed, no chunk signature): records 46858-47627 lost"
            in report.account.statements)
    _, report, _ = read(by_name["omer__HelloForBusiness_incomplete_sid.evtx"])
    assert report.account.statements == [
        "chunk 0 at offset 0x1000: its header claims records 1-20; records 7-20 were not read"]
    _, report, _ = read(by_name["omer__system.evtx"])
    assert (report.account.chunks_recovered, report.account.claimed_by_header) == (12, 308)


def test_events_command_lists_the_lost_records(tmp_path, clean, capsys):
    """``exlab events`` printed "Losses: none" for a zeroed chunk: no engine had failed on it."""
    from exlab.cli import main

    data = bytearray(clean)
    data[slot(2):slot(3)] = bytes(layout.CHUNK_SIZE)
    folder = tmp_path / "evidence"
    folder.mkdir()
    (folder / "Application.evtx").write_bytes(bytes(data))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", exlab.DataLossWarning)
        assert main(["events", str(folder)]) == 0
    printed = capsys.readouterr().out
    assert "Losses: none" not in printed
    assert ("Application.evtx: claimed 350 = read 274 + lost 76; chunk 2 at offset 0x21000 is zeroed: "
            "records 153-228 lost") in printed


def test_a_record_rendered_as_broken_json_is_a_counted_skip(clean, monkeypatch):
    """pyevtx-rs renders some damaged records as text that is not JSON (seen in fuzzing: a raw
    control character inside a string); that record is skipped and counted, the file still read."""
    import io

    import orjson

    import exlab.events.evtx_rs as engine

    class BrokenOnRecord5:
        JSONDecodeError = orjson.JSONDecodeError

        @staticmethod
        def loads(text):
            if '"EventRecordID":5,' in text:
                return orjson.loads(text[:-3])           # the rendering cut: not JSON
            return orjson.loads(text)

    monkeypatch.setattr(engine, "orjson", BrokenOnRecord5)
    with pytest.warns(DataLossWarning, match="not JSON"):
        frame = exlab.read_events(io.BytesIO(clean), workers=1)
    report = frame.attrs["parse_report"].files[0]
    assert len(frame) == RECORDS - 1 and 5 not in set(frame["record_id"])
    assert report.records_skipped == 1 and "record 5" in report.losses[0].where
