"""Case: discovery by content in sub-folders, what is not read and why, one parse report, inference."""

from __future__ import annotations

import shutil
import warnings
from pathlib import Path

import pandas as pd
import pytest

import exlab
from exlab.errors import EvidenceNotFound, ExlabWarning
from tests.analysis.folders import write_protocol_case
from tests.samples import quiet_case, sample_cases


@pytest.fixture()
def folder(tmp_path: Path) -> tuple[Path, dict]:
    root = tmp_path / "evidence"
    root.mkdir()
    return root, write_protocol_case(root)


def test_open_case_reads_each_kind_by_content_and_lists_the_rest(folder):
    root, facts = folder
    case = exlab.open_case(root)
    assert len(case.sessions) == facts["refused"] + 1
    assert case.tracking["event_id"].tolist() == ["DEFER"]
    assert case.events is None and case.certs is None and case.connectors is None
    unread = {Path(row.file).name: row.reason for row in case.unread.itertuples()}
    assert set(unread) == {"truth.json", "README.txt", "empty.log"}
    assert unread["empty.log"] == "empty file" and "no exlab reader" in unread["README.txt"]
    files = case.reports.to_frame()
    assert sorted(Path(f).name for f in files["file"]) == ["MSGTRK20250320-1.LOG", "SEND20250320-1.LOG"]
    assert case.reports.records_skipped == 0
    assert case.summary().set_index("kind").loc["sessions", "files"] == 1


def test_open_case_infers_the_connector_and_says_so(folder):
    root, facts = folder
    case = exlab.open_case(root)
    assert case.connector == facts["connector"]
    assert "protocol log" in case.inferred["connector"]
    given = exlab.open_case(root, connector="Other")
    assert given.connector == "Other" and "connector" not in given.inferred


def test_case_diagnose_and_timeline(folder):
    root, facts = folder
    case = exlab.open_case(root, tz="Europe/Warsaw")
    diagnosis = case.diagnose()
    assert (diagnosis.verdict, diagnosis.strength, diagnosis.culprit) == ("confirmed", "direct", facts["culprit"])
    assert diagnosis.onset == pd.Timestamp(facts["onset"], tz="UTC")
    assert diagnosis.end == pd.Timestamp(facts["end"], tz="UTC")
    assert any("inferred" in note for note in diagnosis.notes)
    timeline = case.timeline()
    assert timeline.tz == "Europe/Warsaw" and timeline.episodes["failures"].tolist() == [facts["refused"]]
    assert str(timeline.episodes.loc[0, "onset_local"].tz) == "Europe/Warsaw"


def test_progress_bar_goes_to_stderr(folder, capsys):
    root, _ = folder
    exlab.open_case(root, progress=True)
    assert "evidence" in capsys.readouterr().err


def test_a_folder_with_nothing_readable_says_what_exlab_reads(tmp_path):
    (tmp_path / "notes.txt").write_text("hello", encoding="utf-8")
    (tmp_path / "truth.json").write_text("{}", encoding="utf-8")
    with pytest.raises(EvidenceNotFound) as caught:
        exlab.open_case(tmp_path)
    message = str(caught.value)
    assert str(tmp_path) in message and "SMTP send protocol logs" in message and "certificates" in message
    assert "2 file(s) looked at" in message


def test_a_missing_folder_is_evidence_not_found(tmp_path):
    with pytest.raises(EvidenceNotFound):
        exlab.open_case(tmp_path / "nope")


def _events(source: str, seconds: list[int], *, computer: str | None, record_ids: bool) -> pd.DataFrame:
    from exlab.events.schema import events_frame
    base = 1_742_467_754_000_000_000
    return events_frame([{"time_created": base + s * 1_000_000_000 + (420_000_000 if record_ids else 0),
                          "computer": computer, "provider": "MSExchangeTransport", "event_id": 2004,
                          "record_id": 100 + s if record_ids else None, "source": source} for s in seconds])


def test_the_same_log_exported_twice_is_kept_once_and_two_servers_stay_whole():
    from exlab.case import dedupe_events
    from exlab.parse_report import ParseReport
    frames = [_events("EX01/Application.evtx", [0, 15, 30, 45], computer="ex01", record_ids=True),
              _events("EX02/Application.evtx", [15, 60], computer="ex02", record_ids=True),
              _events("EX01/Transport.csv", [0, 15, 30, 45, 90], computer=None, record_ids=False)]
    report = ParseReport()
    for frame in frames:
        report.add_file(frame["source"].iloc[0], sha256="", format="test")
    events = pd.concat(frames, ignore_index=True)
    events.attrs["parse_report"] = report
    kept = dedupe_events(events)
    assert kept.groupby("source").size().to_dict() == {"EX01/Application.evtx": 4, "EX02/Application.evtx": 2,
                                                        "EX01/Transport.csv": 1}
    assert report.files[2].warnings == ["4 record(s) also exported in EX01/Application.evtx: kept once, from there"]
    assert report.files[1].warnings == []


def test_a_filtered_export_is_a_copy_whatever_its_name_and_overlapping_exports_share_nothing_twice():
    """A filtered XML export named before the whole .evtx (its name sorts first) was kept, and the
    .evtx, of which it holds a quarter, was kept whole beside it: each event twice. With record ids
    on both sides, two exports of overlapping windows keep each event once too."""
    from exlab.case import dedupe_events

    whole = _events("Application.evtx", list(range(0, 80, 10)), computer="ex01", record_ids=True)
    filtered = _events("App-2004-filtered.xml", [10, 40], computer="ex01", record_ids=True)
    kept = dedupe_events(pd.concat([filtered, whole], ignore_index=True))
    assert kept.groupby("source").size().to_dict() == {"Application.evtx": 8}
    morning = _events("morning.xml", list(range(0, 50, 10)), computer="ex01", record_ids=True)
    noon = _events("noon.xml", list(range(30, 90, 10)), computer="ex01", record_ids=True)     # 2 of 6 shared
    kept = dedupe_events(pd.concat([morning, noon], ignore_index=True))
    assert sorted(kept["record_id"]) == [100 + s for s in range(0, 90, 10)]


BROKEN_LOG = (b"#Software: Microsoft Exchange Server\r\n#Version: 15.0.0.0\r\n#Log-type: SMTP Send Protocol Log\r\n"
              b"#Date: 2025-03-21T00:00:01.000Z\r\n")   # cut before its #Fields line


def test_a_refused_file_is_listed_unread_and_the_rest_still_read(folder):
    root, facts = folder
    (root / "ProtocolLog" / "SmtpSend" / "SEND20250321-1.LOG").write_bytes(BROKEN_LOG)
    case = exlab.open_case(root)
    assert len(case.sessions) == facts["refused"] + 1
    reasons = {Path(row.file).name: row.reason for row in case.unread.itertuples()}
    assert reasons["SEND20250321-1.LOG"].startswith("the sessions reader refused it: ")
    assert "#Fields" in reasons["SEND20250321-1.LOG"]


def test_a_reader_failing_with_a_bug_costs_only_its_file(folder, monkeypatch):
    """Any exception of a reader (a bug, not a refusal) lists that file as unread with the
    exception's type and message, warned naming the file; the rest of the case is read."""
    import exlab.transport.tracking_export as tracking_export       # the case's tracking reader reads the logs so
    root, facts = folder
    copy = root / "MessageTracking" / "MSGTRK20250321-1.LOG"
    copy.write_bytes((root / "MessageTracking" / "MSGTRK20250320-1.LOG").read_bytes())
    read = tracking_export.read_tracking_log

    def buggy(paths, *args, **kwargs):
        if any(Path(p).name == copy.name for p in paths):
            raise TypeError("int() argument must be a string")
        return read(paths, *args, **kwargs)

    monkeypatch.setattr(tracking_export, "read_tracking_log", buggy)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        case = exlab.open_case(root)
    assert case.tracking["event_id"].tolist() == ["DEFER"]
    assert case.diagnose().verdict == "confirmed"
    reasons = {Path(row.file).name: row.reason for row in case.unread.itertuples()}
    assert reasons[copy.name] == ("the tracking reader failed on it (a bug in exlab, "
                                  "TypeError: int() argument must be a string)")
    assert [w.message.source for w in caught if "TypeError" in str(w.message)] == [str(copy)]


def test_a_folder_of_refused_files_only_says_why_each_was_refused(tmp_path):
    (tmp_path / "SEND20250321-1.LOG").write_bytes(BROKEN_LOG)
    with pytest.raises(EvidenceNotFound) as caught:
        exlab.open_case(tmp_path)
    assert "holds nothing exlab could read" in str(caught.value)
    assert "SEND20250321-1.LOG: the sessions reader refused it" in str(caught.value)


def test_a_csv_export_read_in_the_wrong_zone_is_still_recognised_as_a_copy():
    """Without tz, a CSV export's local times are read as UTC; the copy is found at the
    zone's offset, its rows set aside, and the offset named in its report."""
    from exlab.events.schema import events_frame
    from exlab.parse_report import ParseReport
    stamp = 1_742_467_754_420_000_000                  # 2025-03-20 10:49:14.42 UTC
    hour = 3_600_000_000_000
    row = {"provider": "MSExchangeTransport", "event_id": 2004}
    report = ParseReport()
    for name in ("Application.evtx", "Transport-pl.csv"):
        report.add_file(name, sha256="0" * 64, format="test")
    frame = events_frame([*({**row, "time_created": stamp + i * 60_000_000_000, "record_id": i,
                            "source": "Application.evtx"} for i in range(5)),
                          *({**row, "time_created": stamp + hour + i * 60_000_000_000 - 420_000_000,
                             "source": "Transport-pl.csv"} for i in range(5))], report)
    kept = exlab.case.dedupe_events(frame)
    assert kept["source"].tolist() == ["Application.evtx"] * 5
    assert any("UTC+1h" in note for note in report.files[1].warnings)


def test_open_case_passes_the_culture_to_the_readers_of_local_dates(tmp_path):
    from exlab.errors import AssumptionWarning, ExlabError
    from exlab.lab.cert_exports import ExchangeCert, write_list
    from tests.certs.helpers import kb2888788_pair

    public, _ = kb2888788_pair()     # valid from 2 December 2024: every day <= 12 in en-GB's dd/MM
    write_list([ExchangeCert(public.certificate, services=("IIS", "SMTP"))], tmp_path / "fl.txt",
               culture="en-GB", tz="UTC", all_properties=True)
    with pytest.warns(AssumptionWarning, match=r"the day/month order of its dates is ambiguous") as caught:
        exlab.open_case(tmp_path, tz="UTC")
    assert {Path(w.filename).name for w in caught if "day/month" in str(w.message)} == {"fl.txt"}
    with warnings.catch_warnings():
        warnings.simplefilter("error", AssumptionWarning)
        case = exlab.open_case(tmp_path, tz="UTC", culture="invariant")    # month first, as the engineer says
    assert case.certs.loc[0, "not_before"] == pd.Timestamp("2024-02-12 13:43:23", tz="UTC")
    case = exlab.open_case(tmp_path, tz="UTC", culture="en-GB")
    assert case.certs.loc[0, "not_before"] == pd.Timestamp("2024-12-02 13:43:23", tz="UTC")
    with pytest.raises(ExlabError, match="the culture asked for"):
        exlab.open_case(tmp_path, culture="xx-XX")


# -- the server of every row, the inventory ---------------------------------------------------

FRAME_OF_EXPORT = {"evtx": "events", "event-xml": "events", "event-csv": "events", "event-txt": "events",
                   "event-clixml": "events", "cer": "certs", "p7b": "certs", "exchange-certs": "certs",
                   "protocol-log": "sessions", "tracking-log": "tracking", "send-connector": "connectors",
                   "exchange-server": "servers"}


def _sample(name: str):
    import warnings

    from tests.samples import sample_cases

    sample = {s.name: s for s in sample_cases()}[name]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ExlabWarning)
        return sample, exlab.open_case(sample.folder, roots=sample.roots, tz=sample.truth["tz"])


def _sample_names() -> list[str]:
    from tests.samples import sample_cases
    return [s.name for s in sample_cases()]


@pytest.mark.parametrize("name", _sample_names())
def test_every_row_of_every_frame_of_each_sample_carries_its_server(name):
    sample, case = _sample(name)
    truth = sample.truth
    fqdn = {server: answer["fqdn"] for server, answer in truth["server_verdicts"].items()}
    exported: dict[str, set[str]] = {}
    for export in truth["exports"]:
        kind = FRAME_OF_EXPORT.get(_kind_of(name, export["path"]))
        if kind and export["server"]:
            exported.setdefault(kind, set()).add(fqdn[export["server"]])
    for kind in ("events", "certs", "sessions", "tracking"):
        frame = case.frames[kind]
        assert frame["server"].notna().all(), kind
        servers = {part for cell in frame["server"] for part in cell.split("; ")}
        assert servers == exported[kind], kind
    sources = [fqdn[s] for s in truth["server_verdicts"] if s in _source_servers(name)]
    assert case.connectors["server"].tolist() == ["; ".join(sources)]
    if case.servers is not None:
        assert case.servers["server"].tolist() == [fqdn[s] for s in truth["servers"]]


def _kind_of(name: str, path: str) -> str:
    from exlab.lab.cases import case
    return next(e.kind for e in case(name).exports if e.path == path)


def _source_servers(name: str) -> tuple[str, ...]:
    from exlab.lab.cases import case
    return case(name).connector.source_servers


@pytest.mark.parametrize("name", _sample_names())
def test_the_inventory_of_each_sample_says_what_was_exported_and_what_was_not(name):
    from exlab.lab.cases import case as scenario
    sample, case = _sample(name)
    inventory = case.inventory()
    kinds = inventory[inventory["status"] != "unused"].set_index("kind")
    exported = {FRAME_OF_EXPORT[e.kind] for e in scenario(name).exports if e.kind in FRAME_OF_EXPORT}
    for kind in ("events", "certs", "sessions", "tracking", "connectors", "servers"):
        assert kinds.loc[kind, "status"] == ("found" if kind in exported else "missing"), kind
        assert (kinds.loc[kind, "rows"] > 0) == (kind in exported)
    unused = inventory[inventory["status"] == "unused"]
    assert unused["file"].tolist() == ["truth.json"]
    assert unused["why"].tolist() == ["the lab case's answer, not evidence"]


def test_a_file_that_holds_no_evidence_never_stands_in_for_the_missing_certificate_export(tmp_path):
    sample, _ = _sample("northwind-quiet")
    root = tmp_path / "evidence"
    root.mkdir()
    (root / "Application.evtx").write_bytes((sample.folder / "NWEX02" / "Application.evtx").read_bytes())
    case = exlab.open_case(root, roots=sample.roots)
    before = [step.purpose for step in case.diagnose().missing]
    assert any("Export the certificates" in purpose for purpose in before)
    (root / "ticket-4471.json").write_text('{"Name": "ticket 4471", "Thumbprint": "see the mail of 9 September"}',
                                           encoding="utf-8")
    with pytest.warns(ExlabWarning, match="skipped 1 record") as caught:     # its one record skipped, and said
        case = exlab.open_case(root, roots=sample.roots)
    assert [Path(w.filename).name for w in caught if "skipped 1 record" in str(w.message)] == ["ticket-4471.json"]
    assert [step.purpose for step in case.diagnose().missing] == before
    certs = case.inventory().set_index("kind").loc["certs"]
    assert (certs["status"], certs["why"]) == ("unusable", "its file holds no rows: ticket-4471.json")


def test_evidence_only_from_a_server_that_does_not_send_is_found_but_unusable(tmp_path):
    sample, _ = _sample("litware-servers")
    root = tmp_path / "evidence"
    for name in ("LWEX03/Application.evtx", "LWEX03/Get-ExchangeCertificate.txt", "Get-SendConnector.txt",
                 "Get-ExchangeServer.txt"):
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes((sample.folder / name).read_bytes())
    case = exlab.open_case(root, roots=sample.roots, tz=sample.truth["tz"])
    kinds = case.inventory().set_index("kind")
    assert kinds.loc["events", "status"] == "unusable"
    assert kinds.loc["events", "why"] == ("only from lwex03.litwareinc.com, not a source transport server of the "
                                          "send connector (lwex01.litwareinc.com, lwex02.litwareinc.com)")
    d = case.diagnose()
    assert d.remediation == [] and any("Application log" in step.purpose for step in d.missing)
    assert [(s.server, s.fix) for s in d.servers] == [
        ("lwex01.litwareinc.com", "none"), ("lwex02.litwareinc.com", "none"), ("lwex03.litwareinc.com", "none")]
    assert d.servers[0].why == "no evidence of its mail flow (events, protocol or tracking logs) came from it"


@pytest.mark.real_exports
def test_real_exports_of_a_server_outside_the_connector_source_list_get_no_fix(real_exports, tmp_path):
    """CSS-Exchange's exports: certificates of SOLO-E16A (Get-ExchangeServer: Solo-E16A.Solo.local), a
    connector to Microsoft 365 whose only source server is WIN-CTD3L0RGEN4."""
    root = tmp_path / "evidence"
    root.mkdir()
    for name in ("HC-E16-GetExchangeCertificate.xml", "HC-GetSendConnectorConfiguredToRelayToM365.xml",
                 "HC-E16-GetExchangeServer.xml"):
        (root / name).write_bytes((real_exports / "css-exchange" / name).read_bytes())
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ExlabWarning)
        case = exlab.open_case(root)
    assert set(case.certs["server"]) == {"solo-e16a.solo.local"} and len(case.certs) == 3
    assert case.connectors["server"].tolist() == ["WIN-CTD3L0RGEN4"]
    answers = {d.server: d for d in case.diagnose_servers()}
    assert set(answers) == {"solo-e16a.solo.local", "WIN-CTD3L0RGEN4"}
    solo, source = answers["solo-e16a.solo.local"], answers["WIN-CTD3L0RGEN4"]
    assert (solo.sends, solo.verdict, solo.fix, solo.remediation) == (False, "ruled_out", "none", [])
    assert solo.why.startswith("not a source transport server of connector 'My company to Office 365'")
    assert (source.sends, source.fix, source.remediation) == (True, "none", [])
    certs = case.inventory().set_index("kind").loc["certs"]
    assert certs["status"] == "unusable" and "not a source transport server" in certs["why"]
    assert any("Export the certificates" in step.purpose for step in case.diagnose().missing)


def test_sources_are_made_case_relative_once_per_distinct_value():
    from exlab.case import with_case_names
    asked = []

    def name_in_case(name: str) -> str:
        asked.append(name)
        return name.removeprefix("/case/")

    sources = ["/case/a.log"] * 1000 + ["/case/a.log; /case/b.log"] * 1000 + [None]
    frame = pd.DataFrame({"source": pd.array(sources, dtype="string")})
    renamed = with_case_names(frame, name_in_case)
    assert renamed["source"].value_counts(dropna=False).to_dict() == {"a.log": 1000, "a.log; b.log": 1000, pd.NA: 1}
    assert len(asked) == 3 and str(renamed["source"].dtype) == "string"


@pytest.mark.parametrize("sample", ["contoso-kb2888788", "fabrikam-healthy", "woodgrove-expired"])
def test_a_one_server_case_answers_as_the_diagnosis_of_its_frames(sample):
    # its server's facts are prepared and its rules run once, for the server's answer and the case's:
    # the case's answer must be what exlab.diagnose says of the case's frames, worked out afresh
    from exlab.analysis.diagnose import diagnose
    from exlab.inventory import lacking
    from tests.conftest import SAMPLES

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ExlabWarning)
        case = exlab.open_case(SAMPLES / sample)
    answer = case.diagnose()
    fresh = diagnose(events=case.events, certs=case.certs, sessions=case.sessions, tracking=case.tracking,
                     queues=case.queues, connectors=case.connectors, servers=case.servers, server_fqdn=case.server_fqdn,
                     connector=case.connector, roots=case.roots, lacking=lacking(case.inventory()))
    assert len(answer.servers) == 1
    shown = {key: value for key, value in answer.to_dict(max_rows=None).items() if key not in ("notes", "servers")}
    assert shown == {key: value for key, value in fresh.to_dict(max_rows=None).items()
                     if key not in ("notes", "servers")}
    assert answer.notes == list(dict.fromkeys([*case.inferred.values(), *fresh.notes]))


@pytest.mark.parametrize("sample", sample_cases(), ids=lambda sample: sample.name)
def test_every_sample_case_counts_each_transport_event_once_across_its_exports(sample):
    """Each sample exports its Application log several ways (.evtx, XML, CSV, TXT, CliXml, filtered or
    not): the case holds each event once, as many as truth.json counts (woodgrove's Get-EventLog XML,
    whose name sorts before the .evtx, doubled its 12016 and 12018 events)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ExlabWarning)
        events = exlab.open_case(sample.folder, roots=sample.roots, tz=sample.truth["tz"]).events
    transport = events[events["provider"].astype("string").str.lower() == "msexchangetransport"]
    counts = transport["event_id"].value_counts().to_dict()
    for event_id in (2004, 12014, 12016, 12018):
        assert counts.get(event_id, 0) == sample.truth["counts"][f"events_{event_id}"], event_id


CLIXML_CUT_SHORT = (b'<Objs Version="1.1.0.1" xmlns="http://schemas.microsoft.com/powershell/2004/04"><Obj RefId="0">'
                    b'<TN RefId="0"><T>Microsoft.Exchange.Management.SystemConfigurationTasks.ExchangeCertificate</T>'
                    b'</TN><Props><S N="Thu')


def test_a_refused_file_leaves_the_other_files_of_its_kind_read_together(tmp_path):
    """The files of a kind read one by one after a refusal are read together again: certificates listed
    by two servers' exports stay merged (the file-by-file frames, stacked, gave 10 rows for 7), and a
    refused file's reason names its place without the path of the engineer's machine."""
    from tests.conftest import SAMPLES

    def read(folder):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return exlab.open_case(folder)

    folder = tmp_path / "litware-servers"
    shutil.copytree(SAMPLES / "litware-servers", folder)
    whole = read(folder)
    (folder / "LWEX02" / "Get-ExchangeCertificate-old.xml").write_bytes(CLIXML_CUT_SHORT)
    damaged = read(folder)
    assert len(whole.certs) == 7
    pd.testing.assert_frame_equal(damaged.certs.drop(columns="source"), whole.certs.drop(columns="source"))
    pd.testing.assert_frame_equal(damaged.sessions, whole.sessions)
    reason = damaged.unread.set_index("file")["reason"]["LWEX02/Get-ExchangeCertificate-old.xml"]
    assert reason.startswith("the certs reader refused it: ")
    assert str(tmp_path) not in reason and "Get-ExchangeCertificate-old.xml" not in reason


def test_the_inventory_names_a_source_server_whose_evidence_of_a_kind_is_missing(tmp_path):
    """Three servers, two of them the connector's source servers: without LWEX02's Application log
    the events were still 'found' with no word of LWEX02; the inventory now names it."""
    from tests.conftest import SAMPLES

    folder = tmp_path / "litware-servers"
    shutil.copytree(SAMPLES / "litware-servers", folder)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        whole = exlab.open_case(folder).inventory().set_index("kind")
        (folder / "LWEX02" / "Application.evtx").unlink()
        lacking = exlab.open_case(folder).inventory().set_index("kind")
    assert whole.loc[["events", "certs", "sessions", "tracking"], "why"].isna().all()
    assert lacking.loc["events", "status"] == "found"
    assert lacking.loc["events", "why"] == "none from lwex02.litwareinc.com: collect it there too"
    assert lacking.loc[["certs", "sessions", "tracking"], "why"].isna().all()    # LWEX03 sends no mail to EXO


@pytest.mark.parametrize("cmdlet,labels,row,said", [
    ("Get-MessageTrackingLog", ["EventId", "Source", "Sender", "Recipients", "MessageSubject"],
     ["DEFER", "SMTP", "anna.nowak@contoso.com", "{jan.kowalski@contoso.mail.onmicrosoft.com}", "Invoice 114"],
     "Get-MessageTrackingLog's default table: it shows no Timestamp and no RecipientStatus (Exchange Online's "
     "answer); export it with | Export-Clixml or | fl"),
    ("Get-SendConnector", ["Identity", "AddressSpaces", "Enabled"],
     ["Outbound to Office 365", "{smtp:*.mail.onmicrosoft.com;1}", "True"],
     "Get-SendConnector's default table: it shows no Fqdn and no TlsCertificateName; export it with | fl"),
])
def test_a_cmdlets_default_table_is_named_with_what_to_export_instead(folder, cmdlet, labels, row, said):
    """Engineers paste a cmdlet's default table; exlab said only 'no exlab reader recognises its content'."""
    from exlab.lab.powershell_table import table_lines

    root, _ = folder
    lines = table_lines(labels, [row], right=[False] * len(labels) if cmdlet != "Get-SendConnector"
                        else [False, False, True])
    (root / f"{cmdlet}.txt").write_bytes(("\r\n" + "\r\n".join(lines) + "\r\n\r\n").encode("utf-16"))
    case = quiet_case(root)
    reasons = {Path(row.file).name: row.reason for row in case.unread.itertuples()}
    assert reasons[f"{cmdlet}.txt"] == said
    unused = case.inventory().set_index("file").loc[f"{cmdlet}.txt"]
    assert (unused["status"], unused["why"]) == ("unused", said)
