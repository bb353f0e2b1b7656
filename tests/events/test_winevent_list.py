"""Get-WinEvent and Get-EventLog shown with Format-List (fl, fl *), saved with ``>`` or inside a PowerShell
session: the contoso sample's transport events, written by the lab's writers as Windows PowerShell 5.1
prints them, read into the failures of its .evtx."""

from __future__ import annotations

import io
import shutil
import warnings
from functools import cache

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from exlab import read_events
from exlab.case import evidence_kinds
from exlab.certs import read_certs
from exlab.errors import AssumptionWarning, DataLossWarning, ExlabError, UnsupportedFormat
from exlab.events import winevent_list
from exlab.events.query import EventQuery
from exlab.events.reader import detect_format
from exlab.evidence import open_evidence
from exlab.lab.cases import case
from exlab.lab.event_exports import write_eventlog_list, write_winevent_list
from exlab.lab.generate import TASK_NAMES, render_transport
from exlab.lab.transcripts import console_text, write_transcript
from exlab.parse_report import FileReport
from exlab.transport import tls_failures
from exlab.transport.catalog import render_message
from exlab.transport.settings import detect_connectors, detect_receive_connectors, detect_servers
from tests.conftest import SAMPLES
from tests.fuzz.families import EVENT_LISTS
from tests.fuzz.harness import TIME_LIMIT, time_limit
from tests.samples import quiet_case

CONTOSO = SAMPLES / "contoso-kb2888788"
SCENARIO = case("contoso-kb2888788")          # a Polish server in Europe/Warsaw
SECOND = 1_000_000_000
FAILURE = ["time_created", "connector", "message_id", "smtp_response", "cause"]
WINEVENT = "Get-WinEvent -FilterHashtable @{LogName='Application'; ProviderName='MSExchangeTransport'; Id=2004} | fl"
SHAPES = {"winevent-fl": (write_winevent_list, {}), "winevent-fl*": (write_winevent_list, {"all_properties": True}),
          "eventlog-fl": (write_eventlog_list, {}), "eventlog-fl*": (write_eventlog_list, {"all_properties": True})}
# what each shape shows besides the time, provider, event id and message (the rest reads back NA)
CARRIED = {"winevent-fl": [],
           "winevent-fl*": ["computer", "channel", "qualifiers", "level", "task", "keywords", "record_id"],
           "eventlog-fl": ["qualifiers", "level", "task", "record_id", "data"],
           "eventlog-fl*": ["computer", "qualifiers", "level", "task", "record_id", "data"]}


@cache
def evtx() -> pd.DataFrame:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return read_events(CONTOSO / "events" / "Application.evtx", tz=SCENARIO.tz)


def transport_rows(culture: str = SCENARIO.culture) -> list[dict]:
    """The sample's MSExchangeTransport events as rows, newest first (as both cmdlets list them), each
    message as the lab's server renders it in ``culture``."""
    frame = evtx()
    rows = []
    for row in frame[frame["provider"] == "MSExchangeTransport"].to_dict("records")[::-1]:
        row = {key: None if value is pd.NA else value for key, value in row.items()}
        rows.append({**row, "time_created": row["time_created"].value,
                     "message": render_transport(row["event_id"], row["data"], culture)})
    return rows


def written(shape: str, rows: list[dict], **options) -> bytes:
    writer, fixed = SHAPES[shape]
    out = io.BytesIO()
    writer(out, rows, tz=SCENARIO.tz, task_names=TASK_NAMES, **{**fixed, **options})
    return out.getvalue()


def failures(frame: pd.DataFrame) -> pd.DataFrame:
    """The failures of the events (or the failures frame itself), their times to the second."""
    found = (tls_failures(frame) if "connector" not in frame else frame)[FAILURE].reset_index(drop=True)
    return found.assign(time_created=found["time_created"].dt.floor("s"))


def at(utc: str, **changes) -> dict:
    """The sample's first failure moved to ``utc``."""
    return {**transport_rows()[-1], "time_created": pd.Timestamp(utc, tz="UTC").value, **changes}


@pytest.mark.parametrize("culture", [SCENARIO.culture, "en-US", "de-DE"])
@pytest.mark.parametrize("shape", SHAPES)
def test_the_fl_exports_of_the_sample_read_into_the_failures_of_its_evtx(shape, culture):
    """pl-PL cuts the values at the console's width, en-US and de-DE wrap them between words; each message
    is in the culture's words, its dates in the culture's format."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")     # nothing to warn of: the zone is given, the values settle the dates
        frame = read_events(io.BytesIO(written(shape, transport_rows(culture), culture=culture)), tz=SCENARIO.tz)
    report = frame.attrs["parse_report"].files[0]
    assert (report.format, report.records_read, report.records_skipped) == (f"{shape[:8]}-list", 153, 0)
    pd.testing.assert_frame_equal(failures(frame), failures(evtx()))
    oldest_first = frame[::-1].reset_index(drop=True)
    ours = evtx()[evtx()["provider"] == "MSExchangeTransport"].reset_index(drop=True)
    pd.testing.assert_frame_equal(oldest_first[CARRIED[shape]], ours[CARRIED[shape]])
    assert oldest_first["event_id"].eq(2004).all() and oldest_first["provider"].eq("MSExchangeTransport").all()
    absent = [column for column in CARRIED["winevent-fl*"] if column not in CARRIED[shape]]
    assert oldest_first[absent].isna().all().all()
    assert oldest_first["line"].notna().all()


def test_a_case_whose_only_event_export_is_get_winevent_fl_gives_the_verdict_of_its_evtx(tmp_path):
    folders = {name: tmp_path / name for name in ("evtx", "fl")}
    for folder in folders.values():
        shutil.copytree(CONTOSO, folder, ignore=shutil.ignore_patterns("events"))
        (folder / "events").mkdir()
    shutil.copy(CONTOSO / "events" / "Application.evtx", folders["evtx"] / "events")
    (folders["fl"] / "events" / "Get-WinEvent-2004.txt").write_bytes(written("winevent-fl", transport_rows()))
    truth, said = (quiet_case(folders[name]) for name in ("evtx", "fl"))
    assert said.events["source"].unique().tolist() == ["events/Get-WinEvent-2004.txt"]
    pd.testing.assert_frame_equal(failures(said.failures), failures(truth.failures))
    ours, theirs = said.diagnose(), truth.diagnose()
    assert (ours.verdict, ours.cause, ours.strength, ours.culprit, ours.public, ours.connector, ours.server_fqdn) == \
        (theirs.verdict, theirs.cause, theirs.strength, theirs.culprit, theirs.public, theirs.connector,
         theirs.server_fqdn) == ("confirmed", "kb2888788", "direct", theirs.culprit, theirs.public,
                                 "Outbound to Office 365", "exchange.contoso.com")
    assert ours.onset == theirs.onset.floor("s") and ours.end == theirs.end
    assert [step.command for step in ours.remediation] == [step.command for step in theirs.remediation]
    assert said.server_list() == truth.server_list()


@pytest.mark.parametrize("session", ["transcript", "console"])
def test_a_session_of_get_winevent_fl_and_the_certificate_list_gives_both_frames(tmp_path, session):
    folder = tmp_path / "case"
    shutil.copytree(CONTOSO, folder, ignore=shutil.ignore_patterns("events", "certs"))
    certificates = CONTOSO / "certs" / "Get-ExchangeCertificate-fl.txt"
    commands = [(WINEVENT, written("winevent-fl", transport_rows()).decode("utf-16")),
                ("Get-ExchangeCertificate | fl *", certificates.read_bytes().decode("utf-16"))]
    if session == "transcript":
        path = write_transcript(folder, commands, machine="EXCHANGE")
    else:
        path = folder / "exchange-console.txt"
        path.write_bytes(console_text(commands).encode("utf-8"))
    assert detect_format(open_evidence(path)) is winevent_list
    whole = quiet_case(folder)
    pd.testing.assert_frame_equal(failures(whole.events), failures(evtx()))
    assert set(whole.events["channel"]) == {"Application"}                # the log the command names
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        apart = read_certs(certificates, tz=SCENARIO.tz)
    assert sorted(whole.frames["certs"]["thumbprint"]) == sorted(apart["thumbprint"])
    reports = [f for f in whole.reports.files if f.file == path.name]
    assert sorted(f.format for f in reports) == [f"powershell-{session}", "winevent-list"]
    [events] = [f for f in reports if f.format == "winevent-list"]
    assert (events.records_read, events.records_skipped) == (153, 0)
    assert any(note.endswith(f"read as events: {WINEVENT!r} (line {_line_of(path, WINEVENT)})")
               for note in events.warnings)
    assert whole.diagnose().cause == "kb2888788"


def _line_of(path, command: str) -> int:
    return next(number for number, line in enumerate(path.read_bytes().decode("utf-8-sig").splitlines(), 1)
                if line.endswith(command))


def test_a_session_without_events_output_is_refused_naming_the_file(tmp_path):
    certificates = (CONTOSO / "certs" / "Get-ExchangeCertificate-fl.txt").read_bytes().decode("utf-16")
    path = write_transcript(tmp_path, [("Get-ExchangeCertificate | fl *", certificates)])
    with pytest.raises(UnsupportedFormat, match=rf"{path.name}, every command's output: expected Get-WinEvent or"):
        read_events(path)


@pytest.mark.parametrize("path", ["certs/Get-ExchangeCertificate-fl.txt", "certs/Get-ExchangeCertificate.txt",
                                  "config/Get-SendConnector.txt", "config/Get-ExchangeServer.txt"])
def test_certificate_and_settings_lists_are_not_events(path):
    with pytest.raises(UnsupportedFormat, match=path.rsplit("/", 1)[-1]):
        read_events(CONTOSO / path)
    with pytest.raises(UnsupportedFormat, match=path.rsplit("/", 1)[-1]):
        list(winevent_list.read(open_evidence(CONTOSO / path), EventQuery.build(), FileReport(path, "", "x")))


@pytest.mark.parametrize("shape", SHAPES)
def test_event_lists_are_not_certificates_nor_settings(shape):
    data = written(shape, transport_rows()[:3])
    with pytest.raises(UnsupportedFormat):
        read_certs(io.BytesIO(data))
    assert not any(detector(data) for detector in (detect_connectors, detect_receive_connectors, detect_servers))
    assert [kind.name for kind in evidence_kinds() if kind.detect(open_evidence(io.BytesIO(data)))] == ["events"]


@pytest.mark.parametrize("culture", ["de-DE", "en-GB"])
def test_day_first_dates_are_read_as_the_values_or_the_culture_given_say(culture):
    rows = [at("2025-03-05 13:15:04"), at("2025-03-04 08:00:00")]        # no day above 12
    data = written("winevent-fl*", rows, culture=culture)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        frame = read_events(io.BytesIO(data), tz=SCENARIO.tz)
    said = [str(w.message) for w in caught if issubclass(w.category, AssumptionWarning)]
    if culture == "de-DE":      # only day-first cultures write dots: the values settle it
        assert said == []
    else:                       # 05/03/2025 14:15:04 is en-GB's 5 March or the invariant culture's 3 May
        assert len(said) == 1 and said[0].startswith("the day/month order of its dates is ambiguous")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        given = read_events(io.BytesIO(data), tz=SCENARIO.tz, culture=culture)
    expected = [pd.Timestamp(row["time_created"], tz="UTC") for row in rows]
    assert frame["time_created"].tolist() == given["time_created"].tolist() == expected


def test_the_hour_the_clocks_go_back_over_is_read_by_the_order_of_the_records():
    # Warsaw, 27 October 2024: 02:00-03:00 comes twice (CEST, then CET); newest first, as Get-EventLog lists them
    times = ["2024-10-27 01:40:00", "2024-10-27 01:10:00", "2024-10-27 00:50:00", "2024-10-27 00:30:00"]
    data = written("eventlog-fl", [at(when) for when in times])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        frame = read_events(io.BytesIO(data), tz=SCENARIO.tz)
    assert frame["time_created"].tolist() == [pd.Timestamp(when, tz="UTC") for when in times]
    assert any("comes twice in Europe/Warsaw" in note and "as the order of the file tells" in note
               for note in frame.attrs["parse_report"].files[0].warnings)
    with pytest.warns(AssumptionWarning, match="comes twice in Europe/Warsaw"):
        alone = read_events(io.BytesIO(written("eventlog-fl", [at(times[0])])), tz=SCENARIO.tz)
    assert alone["time_created"].tolist() == [pd.Timestamp("2024-10-27 00:40:00", tz="UTC")]   # the first pass


def test_a_damaged_block_is_skipped_counted_and_warned_once_naming_the_file(tmp_path):
    lines = written("winevent-fl*", transport_rows()[:4]).decode("utf-16").split("\r\n")
    ids = [n for n, line in enumerate(lines) if line.startswith("Id ")]
    times = [n for n, line in enumerate(lines) if line.startswith("TimeCreated ")]
    lines[times[2]] = "TimeCreated          : yesterday"
    del lines[ids[1]]
    path = tmp_path / "Get-WinEvent-fl.txt"
    path.write_bytes("\r\n".join(lines).encode("utf-16"))
    starts = [n for n, line in enumerate(path.read_bytes().decode("utf-16").splitlines(), 1)
              if line.startswith("Message ")]
    with pytest.warns(DataLossWarning) as caught:
        frame = read_events(path, tz=SCENARIO.tz)
    lost = [w for w in caught if issubclass(w.category, DataLossWarning)]
    assert len(lost) == 1 and lost[0].filename == str(path)
    report = frame.attrs["parse_report"].files[0]
    assert (len(frame), report.records_read, report.records_skipped) == (2, 2, 2)
    assert [(loss.where, loss.reason) for loss in report.losses] == [
        (f"event 2 (line {starts[1]})", "no Id, InstanceId or EventID"),
        (f"event 3 (line {starts[2]})", "TimeCreated 'yesterday' is not written as the file's other dates "
                                        "(3/20/2025 2:15:04 PM)")]
    assert frame["record_id"].tolist() == [row["record_id"] for row in transport_rows()[:4:3]]


def test_replacement_strings_that_hold_commas_or_were_cut_are_told():
    data = {"%1": "<I>CN=Lab Public Issuing CA G2, O=exlab Lab Trust Services, C=US<S>CN=mail.contoso.com",
            "%2": "Outbound to Office 365"}
    missing = at("2025-03-20 13:15:04", event_id=12014, qualifiers=49156, level=2, task=12, data=data,
                 message=render_message("MSExchangeTransport", 12014, data))
    many = at("2025-03-20 13:15:00", provider="MSExchange Common", event_id=4999,
              data={f"%{n}": f"value {n}" for n in range(1, 7)}, message="Watson report about to be sent.")
    frame = read_events(io.BytesIO(written("eventlog-fl", [missing, many])), tz=SCENARIO.tz)
    assert frame["data"].tolist() == [data, {f"%{n}": f"value {n}" for n in range(1, 5)}]
    notes = frame.attrs["parse_report"].files[0].warnings
    assert any(note.startswith("1 record(s): ReplacementStrings did not split into") for note in notes)
    assert any(note.startswith("1 record(s): Format-List cut ReplacementStrings") for note in notes)
    assert tls_failures(frame)[["connector", "cause"]].values.tolist() == [["Outbound to Office 365",
                                                                            "tlscertificatename-missing"]]


@pytest.mark.parametrize("culture", ["en-US", "pl-PL"])
@pytest.mark.parametrize("trimmed", [False, True], ids=["saved", "console-copy"])
def test_a_message_of_several_lines_keeps_them_wrapped_or_cut_saved_or_copied(culture, trimmed):
    """A copy of the console trims each line: the spaces wrapped lines ended with are gone, and so is the
    indentation of an empty line of the message."""
    message = ("The first line of the message, long enough for the console to wrap it onto a line of its own "
               "and the next.\r\n\r\nThe third line, after an empty one.\r\nThe last line.")
    text = written("winevent-fl", [at("2025-03-20 13:15:04", message=message)], culture=culture,
                   width=80).decode("utf-16")
    if trimmed:
        text = "\r\n".join(line.rstrip() for line in text.split("\r\n"))
    with pytest.warns(DataLossWarning, match=r"1 record\(s\) without their insertion strings"):  # not 2004's words
        frame = read_events(io.BytesIO(text.encode("utf-16")), tz=SCENARIO.tz)
    assert frame["message"].tolist() == [message]


@pytest.fixture(scope="module")
def fuzz_folder(tmp_path_factory):
    return tmp_path_factory.mktemp("fuzz")


@cache
def _records_of_seed(label: str) -> tuple[int, int]:
    """Records read and skipped of a fuzz seed as it is (the lab writers' three test rows)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        report = read_events(io.BytesIO(EVENT_LISTS.seeds()[label])).attrs["parse_report"].files[0]
    return report.records_read, report.records_skipped


@settings(max_examples=60, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(label=st.sampled_from(sorted(EVENT_LISTS.seeds())),
       damage=st.lists(st.tuples(st.sampled_from(["drop", "repeat", "blank", "garble", "cut"]),
                                 st.integers(0, 10_000), st.text(max_size=12)), min_size=1, max_size=6))
def test_damaged_lists_end_in_rows_each_counted_or_an_exlab_error_naming_the_file(fuzz_folder, label, damage):
    """Lines dropped, repeated, blanked, garbled, or the file cut short, within the fuzz harness's time limit
    (each seed, undamaged, reads whole)."""
    assert _records_of_seed(label) == (3, 0)
    seed = EVENT_LISTS.seeds()[label]
    encoding = "utf-16" if seed[:2] == b"\xff\xfe" else "utf-8-sig"
    lines = seed.decode(encoding).split("\r\n")
    for how, place, piece in damage:
        where = place % len(lines)
        if how == "drop":
            del lines[where]
        elif how == "repeat":
            lines.insert(where, lines[where])
        elif how == "blank":
            lines[where] = ""
        elif how == "garble":
            lines[where] = lines[where][:place % 40] + piece
        else:
            lines = lines[:where + 1]
        lines = lines or [""]
    path = fuzz_folder / "input.txt"
    path.write_bytes("\r\n".join(lines).encode(encoding, "surrogatepass"))
    try:
        with warnings.catch_warnings(), time_limit(TIME_LIMIT):
            warnings.simplefilter("ignore")
            frame = read_events(path)
    except ExlabError as err:
        assert path.name in (err.source or ""), err
        return
    assert frame.attrs["parse_report"].records_read == len(frame)
