"""The store answers as the evidence folders do, on evidence laid out as engineers collect it: each
server's folder or zip ingested apart, two servers' zips of one name, a folder named ``.``, damaged
files, the same folder twice, and SQL's ``server`` as the case tells it."""

from __future__ import annotations

import shutil
import warnings

import duckdb
import pandas as pd
import pytest

from exlab.fleet import ingest, query, read_frame
from exlab.fleet.helpers import certificates_presented
from exlab.fleet.ingestion import plan
from exlab.fleet.store import StoreError
from exlab.lab import write_evtx
from exlab.lab.transport_logs import demo_protocol_log
from tests.fleet.stores import LITWARE, SAMPLES, assert_same_case, direct_case, store_case, verdicts
from tests.test_bundle import zip_folder

SERVERS = ("LWEX01", "LWEX02", "LWEX03")
ORG_EXPORTS = ("Get-ExchangeServer.txt", "Get-SendConnector.txt")


def quiet_ingest(*args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return ingest(*args, progress=False, **kwargs)


def site(tmp_path, *, zipped: bool = False):
    """The litware site as collected server by server: a folder (or a zip) per server and the
    organisation's exports in ``org``; the folders (or zips) to ingest."""
    folder = tmp_path / "site"
    (folder / "org").mkdir(parents=True)
    for name in ORG_EXPORTS:
        shutil.copy(LITWARE / name, folder / "org" / name)
    for server in SERVERS:
        if zipped:
            zip_folder(LITWARE / server, folder / f"{server}.zip", root=f"{server}/")
        else:
            shutil.copytree(LITWARE / server, folder / server)
    return folder, [folder / (f"{server}.zip" if zipped else server) for server in SERVERS] + [folder / "org"]


@pytest.mark.parametrize("zipped", [False, True], ids=["folder-per-server", "zip-per-server"])
def test_each_servers_evidence_ingested_apart_gives_the_case_of_the_folder(tmp_path, zipped):
    # the certificate two servers' exports list was a row per batch (10 rows, not 7), and the zips
    # the members came from were in no report
    folder, sources = site(tmp_path, zipped=zipped)
    quiet_ingest(sources, tmp_path / "store", tz="America/Los_Angeles")
    direct = direct_case(folder, tz="America/Los_Angeles")
    stored = store_case(tmp_path / "store")
    assert_same_case(stored, direct)
    assert len(stored.certs) == 7 and verdicts(stored)["verdict"].tolist() == ["confirmed", "ruled_out", "ruled_out"]
    if zipped:
        assert {f.file for f in stored.reports.files if f.format == "zip"} == {f"{s}.zip" for s in SERVERS}


def test_two_servers_listing_one_certificate_with_other_services_keep_a_row_each(tmp_path):
    folder, sources = site(tmp_path)
    export = folder / "LWEX02" / "Get-ExchangeCertificate.txt"
    text = export.read_bytes().decode("utf-16")
    export.write_bytes(text.replace("Services           : IIS, SMTP", "Services           : IIS", 1).encode("utf-16"))
    quiet_ingest(sources, tmp_path / "store", tz="America/Los_Angeles")
    stored, direct = store_case(tmp_path / "store"), direct_case(folder, tz="America/Los_Angeles")
    assert_same_case(stored, direct)
    public = stored.certs[stored.certs["thumbprint"] == "F87AEA5690D5562DFCE2582C34B5732F292EEAE5"]
    assert public[["server", "services"]].values.tolist() == [["lwex01.litwareinc.com", ("IIS", "SMTP")],
                                                               ["lwex02.litwareinc.com", ("IIS",)]]


def test_two_servers_zips_of_one_name_are_two_sources(tmp_path):
    # each server's collection is collected.zip in a folder of its name: the second zip's certificates
    # and protocol logs replaced the first's (the same names in the store), and no file named its server
    folder = tmp_path / "site"
    for server in SERVERS:
        (folder / server).mkdir(parents=True)
        zip_folder(LITWARE / server, folder / server / "collected.zip")
    (folder / "org").mkdir()
    for name in ORG_EXPORTS:
        shutil.copy(LITWARE / name, folder / "org" / name)
    result = quiet_ingest([*(folder / s / "collected.zip" for s in SERVERS), folder / "org"], tmp_path / "store",
                          tz="America/Los_Angeles")
    assert result.replaced == 0
    assert_same_case(store_case(tmp_path / "store"), direct_case(folder, tz="America/Los_Angeles"))


def test_a_folder_ingested_as_dot_keeps_its_name(tmp_path, monkeypatch):
    # "exlab fleet ingest . -o STORE" in each server's folder named every source "": the second
    # server's evidence replaced the first's, and files were named "/Application.evtx"
    for server in ("LWEX01", "LWEX02"):
        shutil.copytree(LITWARE / server, tmp_path / server)
    for server in ("LWEX01", "LWEX02"):
        monkeypatch.chdir(tmp_path / server)
        assert quiet_ingest(["."], tmp_path / "store").replaced == 0
    assert query(tmp_path / "store", "SELECT DISTINCT source FROM events ORDER BY 1")["source"].tolist() == [
        "LWEX01/Application.evtx", "LWEX02/Application.evtx"]
    assert verdicts(store_case(tmp_path / "store"))["failures"].tolist() == [64, 0]


def test_the_same_folder_twice_in_one_ingest_is_read_once(tmp_path):
    result = quiet_ingest([LITWARE, LITWARE], tmp_path / "store")
    assert (result.added, result.skipped) == (12, 12)
    assert result.rows == result.stored == {"certs": 7, "connectors": 1, "events": 514, "servers": 3, "sessions": 86,
                                            "tracking": 438}
    assert [row["file"] for row in result.unread] == ["litware-servers/truth.json"]


def test_damaged_and_refused_files_are_named_and_the_rest_of_the_server_counts(tmp_path):
    # files no reader took (an empty file, a zip that is not one) were in the ingest's output only,
    # not in the store's case; an .evtx read to no record lost its report; a refused file lost its
    # kind, and its reason named the path of the engineer's machine
    folder = tmp_path / "litware-servers"
    shutil.copytree(LITWARE, folder)
    (folder / "LWEX02" / "System.evtx").write_bytes(b"")
    (folder / "LWEX02" / "more-logs.zip").write_bytes(b"PK\x03\x04 cut short")
    (folder / "LWEX02" / "Get-ExchangeCertificate-old.xml").write_bytes(   # Export-Clixml cut short
        b'<Objs Version="1.1.0.1" xmlns="http://schemas.microsoft.com/powershell/2004/04"><Obj RefId="0"><TN RefId="0">'
        b'<T>Microsoft.Exchange.Management.SystemConfigurationTasks.ExchangeCertificate</T></TN><Props><S N="Thu')
    write_evtx(folder / "LWEX03" / "Security.evtx", [])
    quiet_ingest([folder], tmp_path / "store")
    stored, direct = store_case(tmp_path / "store"), direct_case(folder)
    assert_same_case(stored, direct, prefix=f"{folder.name}/")
    assert {row["file"]: row["reason"] for row in stored.unread.to_dict("records")}[
        "litware-servers/LWEX02/Get-ExchangeCertificate-old.xml"].startswith(
        "the certs reader refused it: line 1 column 202: expected well-formed CliXml")
    assert verdicts(stored).equals(verdicts(direct))
    listed = query(tmp_path / "store", "SELECT file, records_read FROM inputs WHERE file LIKE '%Security.evtx'")
    assert listed.values.tolist() == [["litware-servers/LWEX03/Security.evtx", 0]]


def test_an_event_log_of_no_record_still_gives_the_events_frame(tmp_path):
    (tmp_path / "EX01").mkdir()
    write_evtx(tmp_path / "EX01" / "Application.evtx", [])
    (tmp_path / "EX01" / "SEND20250320-1.LOG").write_bytes(demo_protocol_log().getvalue())
    quiet_ingest([tmp_path / "EX01"], tmp_path / "store")
    events = read_frame(tmp_path / "store", "events")
    assert events is not None and events.empty and events.attrs["parse_report"].files[0].file == "EX01/Application.evtx"
    assert store_case(tmp_path / "store").summary().set_index("kind").loc["events", "files"] == 1


def test_sql_names_each_server_as_the_case_does(tmp_path):
    # woodgrove has no Get-ExchangeServer export: its certificates were stored under WGEX01 and its
    # protocol log under no server, while the case (and its events) say wgex01.woodgrovebank.com
    woodgrove = SAMPLES / "woodgrove-expired"
    quiet_ingest([woodgrove], tmp_path / "store")
    case = direct_case(woodgrove)
    for kind in ("certs", "sessions"):
        sql = query(tmp_path / "store", f"SELECT server, count(*) AS n FROM {kind} GROUP BY ALL")
        assert dict(zip(sql["server"], sql["n"])) == case.frames[kind]["server"].value_counts().to_dict(), kind
    pd.testing.assert_frame_equal(certificates_presented(tmp_path / "store"), certificates_presented(case))


def test_servers_named_by_a_later_ingest_are_respelled(tmp_path):
    # the servers' folders first, Get-ExchangeServer in a second ingest: only it names LWEX03, whose
    # folder holds its certificates alone (stored under no server until then)
    folder, sources = site(tmp_path)
    (folder / "LWEX03" / "Application.evtx").unlink()
    quiet_ingest(sources[:3], tmp_path / "store", tz="America/Los_Angeles")
    assert query(tmp_path / "store", "SELECT count(*) AS n FROM certs WHERE server IS NULL")["n"].item() == 3
    quiet_ingest(sources[3:], tmp_path / "store")
    sql = query(tmp_path / "store", "SELECT DISTINCT server FROM certs ORDER BY 1")["server"].tolist()
    assert sql == [f"lwex0{n}.litwareinc.com" for n in (1, 2, 3)]
    assert_same_case(store_case(tmp_path / "store"), direct_case(folder, tz="America/Los_Angeles"))


def test_a_protocol_log_folder_zipped_is_one_batch(tmp_path):
    # logs at a zip's root: a batch per file, so a session that spans two files was cut in two
    logs = tmp_path / "SmtpSend"
    logs.mkdir()
    for day in (20, 21):
        (logs / f"SEND202503{day}-1.LOG").write_bytes(demo_protocol_log().getvalue())
    bundle = zip_folder(logs, tmp_path / "SmtpSend.zip")
    assert [(b.kind, b.slot, len(b.files)) for b in plan([bundle])[0]] == [("sessions", "sessions:SmtpSend.zip", 2)]


def test_a_query_writes_nothing_not_even_a_spill_in_the_working_folder(tmp_path, monkeypatch):
    # in-memory DuckDB spills a query bigger than its memory into ./.tmp: the evidence folder, when
    # the engineer runs the query from there
    quiet_ingest([LITWARE], tmp_path / "store")
    evidence = tmp_path / "evidence"
    evidence.mkdir()
    monkeypatch.chdir(evidence)
    real = duckdb.connect
    monkeypatch.setattr(duckdb, "connect", lambda *a, config, **k: real(*a, config={**config, "memory_limit": "30MB",
                                                                                     "threads": 1}, **k))
    with pytest.raises(StoreError, match="Out of Memory"):
        query(tmp_path / "store", "SELECT count(*) AS n FROM (SELECT * FROM range(6000000) t(x) ORDER BY hash(x))")
    assert query(tmp_path / "store", "SELECT current_setting('temp_directory') AS t")["t"].tolist() == [""]
    assert list(evidence.iterdir()) == []
