"""The evidence store in this process: layout, round trips, idempotence, appends, versions, losses."""

from __future__ import annotations

import hashlib
import json
import shutil
import warnings

import pandas as pd
import pytest

import exlab
from exlab.errors import DataLossWarning
from exlab.fleet import IngestIncomplete, Store, StoreError, ingest, query, read_frame
from exlab.fleet import ingestion as ingest_module
from exlab.cli import main
from exlab.fleet.read import store_rows
from exlab.fleet.store import MANIFEST, VERSION
from exlab.lab import write_evtx
from tests.fleet.stores import CONTOSO, LITWARE, ROOTS, folder_case, store_case, verdicts
from tests.test_bundle import zip_folder


def quiet_ingest(*args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return ingest(*args, progress=False, **kwargs)


@pytest.fixture(scope="module")
def litware_store(tmp_path_factory):
    store = tmp_path_factory.mktemp("fleet") / "store"
    result = quiet_ingest([LITWARE], store)
    return store, result


def test_store_frames_equal_the_folder_read(litware_store):
    store, result = litware_store
    folder, stored = folder_case(LITWARE), store_case(store)
    assert set(stored.frames) == set(folder.frames) == {"events", "certs", "sessions", "tracking", "connectors",
                                                        "servers"}
    for kind, frame in folder.frames.items():
        pd.testing.assert_frame_equal(stored.frames[kind].reset_index(drop=True), frame.reset_index(drop=True),
                                      obj=kind)
    assert result.rows == result.stored == result.distinct == {kind: len(frame) for kind, frame in folder.frames.items()}
    # the truth of the case: 64 refused 2004 events on LWEX01 alone
    assert query(store, "SELECT server, count(*) AS n FROM failures GROUP BY ALL").values.tolist() == [
        ["lwex01.litwareinc.com", 64]]


def test_layout_is_partitioned_by_server_and_day(litware_store):
    store, _ = litware_store
    events = sorted(p.relative_to(store).parent.as_posix() for p in (store / "events").rglob("*.parquet"))
    assert set(events) == {f"events/server=lwex0{n}.litwareinc.com/day=2025-10-{d}" for n in (1, 2, 3) for d in (14, 15)}
    # a certificate several servers hold: under all their names (escaped), as the case's server column says
    assert {p.parent.name for p in (store / "certs").rglob("*.parquet")} == {
        "server=" + cell.replace("; ", "%3B%20") for cell in folder_case(LITWARE).certs["server"]}
    hashes = {i["sha256"] for e in Store.open(store).entries() for i in e.inputs}
    assert len(hashes) == 16     # every evidence file of the case, with its SHA-256


def test_parse_reports_are_stored_with_the_data(litware_store):
    store, _ = litware_store
    report = read_frame(store, "events").attrs["parse_report"]
    folder = folder_case(LITWARE).events.attrs["parse_report"]
    assert [(f.file, f.sha256, f.records_read, f.format) for f in report.files] == [
        (f"litware-servers/{f.file}", f.sha256, f.records_read, f.format) for f in folder.files]
    assert [f.records_read for f in report.files] == [214, 150, 150]


def test_second_ingest_adds_nothing(litware_store):
    store, first = litware_store
    files = sorted(p for p in store.rglob("*") if p.is_file())
    again = quiet_ingest([LITWARE], store)
    assert (again.added, again.skipped, again.rows) == (0, first.added, {})
    assert sorted(p for p in store.rglob("*") if p.is_file()) == files


def test_investigate_on_the_store_equals_the_folders(litware_store):
    store, _ = litware_store
    assert verdicts(store_case(store)).equals(verdicts(folder_case(LITWARE)))
    assert verdicts(store_case(store))["verdict"].tolist() == ["confirmed", "ruled_out", "ruled_out"]


def test_the_store_case_names_and_hashes_the_trust_anchors_it_was_given(litware_store):
    store, _ = litware_store
    case = store_case(store)
    assert case.extra_trust().endswith(f"from {ROOTS.name} (given by the caller)")
    given = case.reports.to_frame().set_index("file").loc[ROOTS.name]
    assert given["sha256"] == hashlib.sha256(ROOTS.read_bytes()).hexdigest()


def test_a_case_with_exports_twice_and_local_times(tmp_path):
    # contoso: one log as .evtx, XML and CSVs in two languages; certificates from seven exports merged
    store = tmp_path / "store"
    quiet_ingest([CONTOSO], store, tz="Europe/Warsaw")
    folder, stored = folder_case(CONTOSO, tz="Europe/Warsaw"), store_case(store, tz="Europe/Warsaw")
    for kind in ("events", "certs", "sessions", "tracking"):
        pd.testing.assert_frame_equal(stored.frames[kind], folder.frames[kind], obj=kind)
    assert stored.diagnose().culprit == folder.diagnose().culprit == json.loads(
        (CONTOSO / "truth.json").read_text())["culprit"]


def test_overlapping_exports_are_stored_as_read_and_counted_as_the_store_answers(tmp_path, capsys):
    # one server's Application log exported on two days, each export's window overlapping the other's
    # (the same records in both), ingested as two evidence folders: the store keeps every row it read,
    # its case each event once, and the ingest's summary says both
    events = exlab.read_events(LITWARE / "LWEX01" / "Application.evtx")
    rows = [{key: None if value is pd.NA else value for key, value in row.items()}
            | {"time_created": row["time_created"].value} for row in events.to_dict("records")]
    quarter = len(rows) // 4
    for day, export in (("monday", rows[:3 * quarter]), ("tuesday", rows[quarter:])):
        (tmp_path / day / "LWEX01").mkdir(parents=True)
        write_evtx(tmp_path / day / "LWEX01" / "Application.evtx", export)
    store = tmp_path / "store"
    first = quiet_ingest([tmp_path / "monday"], store)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert main(["fleet", "ingest", str(tmp_path / "tuesday"), "-o", str(store)]) == 0
    second = Store.open(store)
    stored = query(store, "SELECT count(*) AS n FROM events")["n"].item()
    answered = len(store_case(store).events)
    assert stored == len(rows) + 2 * quarter and answered == len(rows) == len(folder_case(tmp_path).events)
    assert first.stored == first.distinct == {"events": 3 * quarter}
    assert store_rows(second) == ({"events": stored}, {"events": answered})
    out = capsys.readouterr().out
    assert out.startswith(f"1 batch(es) added (rows stored: {len(rows) - quarter} events), 0 already in the store")
    assert f"\nthe store holds {answered} events ({stored} rows stored: events exported more than once count once)\n" in out


def test_new_evidence_is_appended_and_a_grown_log_replaces_its_older_copy(tmp_path):
    site = tmp_path / "evidence" / "litware-servers"
    shutil.copytree(LITWARE, site)
    store = tmp_path / "store"
    quiet_ingest([site], store)
    log = site / "LWEX02" / "Logs" / "MessageTracking" / "MSGTRK20251015-1.LOG"
    lines = log.read_bytes().split(b"\r\n")
    log.write_bytes(b"\r\n".join(lines[:-3] + lines[-3:]))      # unchanged: nothing to do
    assert quiet_ingest([site], store).added == 0
    log.write_bytes(b"\r\n".join(lines[:-2]) + b"\r\n")          # the same log, one record fewer (an older copy)
    result = quiet_ingest([site], store)
    assert (result.added, result.replaced) == (1, 1)
    assert len(read_frame(store, "tracking")) == len(folder_case(site).tracking)
    more = quiet_ingest([CONTOSO], store)
    assert more.rows["events"] > 0 and set(query(store, "SELECT DISTINCT server FROM sessions")["server"]) == {
        "lwex01.litwareinc.com", "lwex02.litwareinc.com", "exchange.contoso.com"}


def test_a_batch_that_failed_is_named_and_the_next_ingest_completes(tmp_path, monkeypatch):
    store = tmp_path / "store"
    real = ingest_module.read_batch

    def failing(batch, *args, **kwargs):
        if batch.kind == "sessions" and "LWEX02" in batch.slot:
            raise OSError("disk full")
        return real(batch, *args, **kwargs)

    monkeypatch.setattr(ingest_module, "read_batch", failing)
    with pytest.raises(IngestIncomplete) as caught:
        quiet_ingest([LITWARE], store)
    assert caught.value.result.failed == [([f"litware-servers/LWEX02/Logs/ProtocolLog/SmtpSend/SEND2025101{d}-1.LOG"
                                            for d in (4, 5)], "OSError: disk full")]
    assert "SEND20251014-1.LOG" in str(caught.value) and caught.value.result.added == 11
    monkeypatch.setattr(ingest_module, "read_batch", real)
    assert quiet_ingest([LITWARE], store).added == 1
    assert len(read_frame(store, "sessions")) == len(folder_case(LITWARE).sessions)


def test_files_a_dead_task_wrote_without_an_entry_are_never_read(tmp_path):
    store = tmp_path / "store"
    target = Store.create(store)
    batches, _ = ingest_module.plan([LITWARE])
    events = next(b for b in batches if b.kind == "events")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        orphan = ingest_module.read_batch(events, str(store), None)   # its entry is never recorded
    assert orphan.parts and all((store / p).is_file() for p in orphan.parts)
    assert target.kinds() == [] and read_frame(store, "events") is None
    quiet_ingest([LITWARE], store)
    assert len(read_frame(store, "events")) == len(folder_case(LITWARE).events)    # written again, not twice


@pytest.mark.parametrize("version, why", [(VERSION + 1, "written by a newer exlab: upgrade exlab to read it"),
                                          (0, "written by an older exlab: ingest the evidence again")])
def test_a_store_of_another_format_version_is_refused(tmp_path, version, why):
    (tmp_path / MANIFEST).write_text(json.dumps({"format": "exlab-store", "version": version}))
    for action in (lambda: exlab.open_case(tmp_path), lambda: query(tmp_path, "SELECT 1"),
                   lambda: quiet_ingest([LITWARE], tmp_path)):
        with pytest.raises(StoreError, match=why):
            action()


def test_a_folder_that_is_not_a_store_is_refused(tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(StoreError, match="an empty folder or an exlab store"):
        quiet_ingest([LITWARE], tmp_path)
    with pytest.raises(exlab.ExlabError, match="outside the evidence folder"):
        quiet_ingest([LITWARE], LITWARE / "store")
    (tmp_path / "s").mkdir()
    (tmp_path / "s" / MANIFEST).write_text("{not json")
    with pytest.raises(StoreError, match="the store's manifest as JSON"):
        query(tmp_path / "s", "SELECT 1")


def test_queries_are_read_only_and_stay_in_the_store(litware_store, tmp_path):
    store, _ = litware_store
    for sql, why in (("CREATE TABLE t AS SELECT 1", "CREATE is not a query"),
                     (f"COPY events TO '{tmp_path}/x.parquet'", "COPY is not a query"),
                     ("SELECT 1; SELECT 2", "2 statements"),
                     (f"SELECT * FROM read_csv('{LITWARE}/Get-SendConnector.txt')", "Permission Error"),
                     ("SELECT * FROM mailboxes", "mailboxes does not exist")):
        with pytest.raises(StoreError, match=why):
            query(store, sql)
    assert not (tmp_path / "x.parquet").exists()


def test_a_zip_of_the_case_gives_the_same_store(tmp_path):
    (tmp_path / "evidence").mkdir()
    bundle = zip_folder(LITWARE, tmp_path / "evidence" / "litware-servers.zip")
    quiet_ingest([bundle], tmp_path / "store")
    stored, folder = store_case(tmp_path / "store"), folder_case(LITWARE)
    assert {kind: len(frame) for kind, frame in stored.frames.items()} == {
        kind: len(frame) for kind, frame in folder.frames.items()}
    assert stored.events["source"].iloc[0] == "litware-servers.zip!LWEX01/Application.evtx"
    assert verdicts(stored).equals(verdicts(folder))       # a zip's members are attributed by their folders too


def test_a_damaged_parquet_file_leaves_its_batch_out_of_the_case_and_the_queries_naming_it(tmp_path):
    store = tmp_path / "store"
    quiet_ingest([LITWARE], store)
    whole = store_case(store)
    entry = next(e for e in Store.open(store).entries() if e.kind == "tracking")     # one log of several
    part = store / entry.parts[0]
    part.write_bytes(part.read_bytes()[:100])
    entry_file = store / "entries" / f"{entry.batch}.json"
    case, warned = _left_out(lambda: exlab.open_case(store, roots=ROOTS), entry_file)
    assert len(warned) == 1 and f"{part}: expected a Parquet file of the store" in warned[0].text
    assert f"delete {entry_file.name} and ingest that evidence again" in warned[0].text
    assert len(case.tracking) == len(whole.tracking) - entry.rows > 0 and case.events.equals(whole.events)
    reason = case.unread.set_index("file")["reason"][f"entries/{entry_file.name}"]
    assert "expected a Parquet file of the store" in reason and str(tmp_path) not in reason
    rows, warned = _left_out(lambda: query(store, "SELECT count(*) AS n FROM tracking")["n"].item(), entry_file)
    assert rows == len(case.tracking) and len(warned) == 1 and f"delete {entry_file.name}" in warned[0].text
    entry_file.unlink()                                 # as the warning says
    quiet_ingest([LITWARE], store)
    assert verdicts(store_case(store)).equals(verdicts(whole)) and len(store_case(store).tracking) == len(whole.tracking)


def test_one_ingest_at_a_time(tmp_path):
    store = Store.create(tmp_path / "store")
    with store.writing(), pytest.raises(StoreError, match="no other ingest writing this store"):
        quiet_ingest([LITWARE], store.root)
    assert quiet_ingest([LITWARE], store.root).added == 12      # the lock is gone with its holder


def _reads_of(store):
    """Each way the store is read: the case, a query and an ingest of other evidence (the last two
    give the rows of the events view)."""
    return {"open_case": lambda: exlab.open_case(store, roots=ROOTS),
            "query": lambda: query(store, "SELECT count(*) AS n FROM events")["n"].item(),
            "ingest": lambda: ingest([CONTOSO], store, progress=False)}


def _left_out(read, entry) -> tuple[object, list]:
    """What ``read`` returned, and the DataLossWarnings it gave about the entry file."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = read()
    return result, [w.message for w in caught if isinstance(w.message, DataLossWarning)
                    and w.message.source == str(entry)]


@pytest.mark.parametrize("part", ["../../outside.parquet", "events/server=../../../x.parquet",
                                  "/etc/passwd", "events/server=EX01/day=../" + "0" * 64 + "-0.parquet"])
def test_an_entry_naming_a_file_outside_the_store_is_left_out_and_the_file_never_read(tmp_path, part):
    store = tmp_path / "store"
    quiet_ingest([LITWARE], store)
    victim = tmp_path / "outside.parquet"
    victim.write_bytes(b"not the store's")
    entry = sorted((store / "entries").glob("*.json"))[0]
    data = json.loads(entry.read_text())
    data["parts"].append(part)
    entry.write_text(json.dumps(data))
    for name, read in _reads_of(store).items():
        _, warned = _left_out(read, entry)
        assert len(warned) == 1 and "Parquet files of the store's frames" in str(warned[0]), name
    assert victim.read_bytes() == b"not the store's"


def test_the_inputs_view_lists_every_file_with_its_hash_and_counts(litware_store):
    store, _ = litware_store
    listed = query(store, "SELECT file, sha256, records_read FROM inputs WHERE kind = 'events' ORDER BY file")
    folder = folder_case(LITWARE).events.attrs["parse_report"].files
    assert listed.values.tolist() == sorted([f"litware-servers/{f.file}", f.sha256, f.records_read] for f in folder)
    assert query(store, "SELECT count(*) AS n FROM inputs")["n"].tolist() == [16]


DAMAGED_ENTRIES = {      # how an entry's JSON was edited -> the field named
    "nested 100,000 deep": (lambda data: "[" * 100_000 + "]" * 100_000, None),
    "reports not a list": (lambda data: dict(data, reports=5), "reports"),
    "a report not an object": (lambda data: dict(data, reports=["x"]), "reports"),
    "losses as text": (lambda data: dict(data, reports=[dict(data["reports"][0], losses="abc")]), "reports"),
    "an account as text": (lambda data: dict(data, reports=[dict(data["reports"][0], account="x")]), "reports"),
    "an input without its hash": (lambda data: dict(data, inputs=[{"file": "a.evtx", "size": 1}]), "inputs"),
    "dtypes as a list": (lambda data: dict(data, dtypes=[1]), "dtypes"),
    "a dtype no frame has": (lambda data: dict(data, dtypes={"time": "evil"}), "dtypes"),
    "rows as text": (lambda data: dict(data, rows="many"), "rows"),
    "sequence true": (lambda data: dict(data, sequence=True), "sequence"),
    "unread as a number": (lambda data: dict(data, unread=3), "unread"),
    "servers as an object": (lambda data: dict(data, servers={"a": 1}), "servers"),
    "a field no entry has": (lambda data: dict(data, evil=1), "evil"),
}


@pytest.mark.parametrize("damage", list(DAMAGED_ENTRIES), ids=list(DAMAGED_ENTRIES))
def test_an_entry_damaged_or_edited_by_hand_is_left_out_with_its_batch_and_written_anew_by_an_ingest(tmp_path, damage):
    # an entry of another shape than ingest writes crashed every reader of the store (TypeError,
    # AttributeError, RecursionError) far from the file; then it stopped every read of the store
    store = tmp_path / "store"
    quiet_ingest([LITWARE], store)
    whole = store_rows(store)[0]
    entry = sorted((store / "entries").glob("*.json"))[0]
    original = json.loads(entry.read_text())
    edit, field = DAMAGED_ENTRIES[damage]
    edited = edit(original)
    entry.write_text(edited if isinstance(edited, str) else json.dumps(edited))
    reads = _reads_of(store)
    case, warned = _left_out(reads["open_case"], entry)
    assert len(warned) == 1 and warned[0].where == field and "ingest that evidence again" in warned[0].text
    unread = case.unread.set_index("file")["reason"]
    assert unread.index.tolist().count(f"entries/{entry.name}") == 1
    reason = unread[f"entries/{entry.name}"]
    assert str(tmp_path) not in reason and (field is None or f"({field}: expected" in reason)   # the field, no path
    kind = original["kind"]
    events, warned = _left_out(reads["query"], entry)
    assert len(warned) == 1 and events == whole["events"] - (original["rows"] if kind == "events" else 0)
    stored, warned = _left_out(lambda: store_rows(store)[0], entry)
    assert stored.get(kind, 0) == whole[kind] - original["rows"] and len(warned) == 1
    again = quiet_ingest([LITWARE], store)          # the same evidence again: the batch and its entry written anew
    assert again.stored == whole and _left_out(lambda: store_rows(store)[0], entry) == (whole, [])


