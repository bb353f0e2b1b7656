"""The lab's event export writers: rows -> writer -> reader -> the same rows, and real bytes."""

from __future__ import annotations

import io
import warnings
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from exlab import read_events
from exlab.errors import DataLossWarning
from exlab.lab import event_exports as ee

FIXTURES = Path(__file__).parents[1] / "events" / "fixtures"
SECOND = 1_000_000_000
RESPONSE = "454 4.7.0 Failed to establish appropriate TLS channel: UntrustedRoot: Access Denied"
EVENT_2004 = {
    "time_created": 1742476504 * SECOND, "computer": "EX01.contoso.com", "channel": "Application",
    "provider": "MSExchangeTransport", "event_id": 2004, "qualifiers": 16388, "level": 4, "task": 2,
    "keywords": "0x80000000000000", "record_id": 48213,
    "data": {"%1": "Outbound to Office 365", "%2": "<20250320131504.7f3a1c@contoso.com>", "%3": RESPONSE},
    "message": ("Send connector Outbound to Office 365: Message delivery was not successful. The message with "
                "message ID <20250320131504.7f3a1c@contoso.com> was acknowledged with SMTP response "
                f"{RESPONSE}."),
}
ROWS = [
    EVENT_2004,
    {"time_created": 1742461544 * SECOND + 1234567 * 100, "computer": "EX01.contoso.com", "channel": "Application",
     "provider": "MSExchangeTransport", "event_id": 12014, "qualifiers": 49156, "level": 2, "task": 12,
     "keywords": "0x80000000000000", "record_id": 48001,
     "data": {"%1": "<I>CN=Contoso Issuing CA 01, DC=contoso, DC=com<S>CN=mail.contoso.com", "%2": "",
              "Binary": "0A0B0C"},
     "message": "Microsoft Exchange could not find a certificate \"<I>...\" & so on, in the store."},
    {"time_created": 1740787207 * SECOND, "computer": "EX02.contoso.com", "channel": "Application",
     "provider": "MSExchangeTransport", "event_id": 12023, "qualifiers": 32772, "level": 3, "task": 12,
     "keywords": "0x80000000000000", "record_id": 47000, "data": {},
     "message": "-Zertifikat\tmit Tab; ąęłńóśźż \U0001F600"},
]
COLUMNS = ["time_created", "computer", "channel", "provider", "event_id", "qualifiers", "level", "task",
           "keywords", "record_id", "data", "message"]
# What each format carries (the rest reads back NA).
CARRIED = {
    "xml": COLUMNS,
    "wevtutil": [c for c in COLUMNS if c != "message"],
    "text": ["time_created", "provider", "event_id", "level", "task", "message"],
    "clixml": ["time_created", "computer", "provider", "event_id", "qualifiers", "level", "task", "record_id",
               "data", "message"],
    "winevent": COLUMNS,
}
WRITERS = [
    ("xml", ee.write_event_viewer_xml, {"culture": "pl-PL"}),
    ("xml", ee.write_event_viewer_xml, {"culture": "en-US", "encoding": "utf-16"}),
    ("wevtutil", ee.write_wevtutil_xml, {}),
    ("xml", ee.write_wevtutil_xml, {"rendered": True, "culture": "de-DE"}),
    *(("text", writer, {"culture": culture, "tz": "Europe/Warsaw", "encoding": encoding})
      for writer in (ee.write_event_viewer_csv, ee.write_event_viewer_txt)
      for culture, encoding in (("en-US", "utf-8"), ("pl-PL", "utf-8-sig"), ("de-DE", "utf-16"),
                                ("fr-FR", "utf-8"))),
    ("clixml", ee.write_eventlog_clixml, {"tz": "Europe/Warsaw"}),
    ("clixml", ee.write_eventlog_clixml, {"tz": "America/New_York", "encoding": "utf-8"}),
    ("winevent", ee.write_winevent_clixml, {"tz": "Europe/Warsaw"}),
    ("winevent", ee.write_winevent_clixml, {"tz": "America/Denver", "encoding": "utf-8"}),
]


def expected(rows, kind: str) -> list[dict]:
    """The rows as a format carries them: text and CliXml keep whole seconds only."""
    out = []
    for row in rows:
        kept = {column: row.get(column) for column in CARRIED[kind]}
        if kind in ("text", "clixml"):
            kept["time_created"] = row["time_created"] // SECOND * SECOND
        out.append(kept)
    return out


def read_back(data: bytes, kind: str, tz: str = "Europe/Warsaw") -> list[dict]:
    with warnings.catch_warnings():
        warnings.simplefilter("error")   # no losses, no assumptions
        frame = read_events(io.BytesIO(data), tz=tz)
    report = frame.attrs["parse_report"].files[0]
    assert report.records_skipped == 0 and report.chunks_skipped == 0
    missing = [c for c in COLUMNS if c not in CARRIED[kind]]
    assert frame[[c for c in missing if c != "data"]].isna().all().all()
    if "data" in missing:
        assert frame["data"].map(len).eq(0).all()
    rows = []
    for record in frame.to_dict(orient="records"):
        row = {column: record[column] for column in CARRIED[kind]}
        row["time_created"] = record["time_created"].value
        rows.append({k: (None if not isinstance(v, dict) and pd.isna(v) else v) for k, v in row.items()})
    return rows


def write(writer, rows, **options) -> bytes:
    out = io.BytesIO()
    assert writer(out, rows, **options) == len(rows)
    return out.getvalue()


@pytest.mark.parametrize(("kind", "writer", "options"), WRITERS,
                         ids=[f"{w.__name__}-{'-'.join(str(v) for v in o.values())}" for _, w, o in WRITERS])
def test_rows_round_trip_through_each_writer_and_reader(kind, writer, options):
    data = write(writer, ROWS, **options)
    assert read_back(data, kind) == expected(ROWS, kind)
    assert write(writer, ROWS, **options) == data          # deterministic


def test_event_2004_reads_the_same_from_every_format():
    common = ["time_created", "provider", "event_id", "level", "task", "message"]
    seen = set()
    for kind, writer, options in WRITERS:
        if kind == "wevtutil":
            continue  # no message without RenderingInfo
        [row] = read_back(write(writer, [EVENT_2004], **options), kind)
        seen.add(tuple(row[c] for c in common))
    assert seen == {tuple(EVENT_2004[c] for c in common)}


@pytest.mark.parametrize(("fixture", "writer", "options"), [
    ("app-en-US.csv", ee.write_event_viewer_csv, {}),
    ("app-fr-FR.csv", ee.write_event_viewer_csv, {"culture": "fr-FR"}),
    ("app-de-DE.txt", ee.write_event_viewer_txt, {"culture": "de-DE", "encoding": "utf-16"}),
    ("get-eventlog.clixml", ee.write_eventlog_clixml,
     {"task_names": {("MSExchangeTransport", 2): "SmtpSend", ("MSExchangeTransport", 12): "TransportService"}}),
])
def test_writers_reproduce_the_hand_written_fixtures_byte_for_byte(fixture, writer, options):
    frame = read_events(FIXTURES / fixture, tz="Europe/Warsaw")
    rows = [{k: (None if not isinstance(v, dict) and pd.isna(v) else v) for k, v in r.items()}
            for r in frame.to_dict(orient="records")]
    for row in rows:
        row["time_created"] = row["time_created"].value
    tz = {"tz": "Europe/Warsaw"}
    assert write(writer, rows, **tz, **options) == (FIXTURES / fixture).read_bytes()


@pytest.mark.parametrize("tz", ["America/Los_Angeles", "Asia/Kolkata", "Australia/Sydney", "UTC"])
def test_local_times_round_trip_in_any_zone(tz):
    data = write(ee.write_event_viewer_txt, ROWS, culture="en-US", tz=tz)
    assert read_back(data, "text", tz=tz) == expected(ROWS, "text")


def test_ansi_code_page_exports_read_back_and_lose_what_the_code_page_lacks():
    row = dict(EVENT_2004, message="Zażółć gęślą jaźń \U0001F600")
    data = write(ee.write_event_viewer_csv, [row], culture="pl-PL", tz="Europe/Warsaw", encoding="cp1250")
    assert "Zażółć gęślą jaźń ?".encode("cp1250") in data
    [back] = read_back(data, "text")
    assert back["message"] == "Zażółć gęślą jaźń ?"


def test_event_viewer_xml_shape():
    data = write(ee.write_event_viewer_xml, [EVENT_2004], culture="pl-PL",
                 task_names={("MSExchangeTransport", 2): "SmtpSend"})
    text = data.decode("utf-8")
    assert data.startswith(b"\xef\xbb\xbf")
    assert text.startswith('\ufeff<?xml version="1.0" encoding="utf-8" standalone="yes"?>\r\n<Events><Event xmlns=')
    assert text.endswith("</Event></Events>\r\n")
    assert ("<RenderingInfo Culture='pl-PL'><Message>Send connector" in text
            and "<Level>Informacje</Level><Task>SmtpSend</Task>" in text
            and "<Keywords><Keyword>Klasyczne</Keyword></Keywords>" in text)
    assert "<EventID Qualifiers='16388'>2004</EventID>" in text
    assert "<TimeCreated SystemTime='2025-03-20T13:15:04.0000000Z'/>" in text
    assert "<Data>&lt;20250320131504.7f3a1c@contoso.com&gt;</Data>" in text


def test_wevtutil_xml_shape():
    text = write(ee.write_wevtutil_xml, ROWS[:2]).decode("utf-8")
    lines = text.split("\r\n")
    assert len(lines) == 3 and lines[2] == ""
    assert all(line.startswith("<Event xmlns='") and line.endswith("</Event>") for line in lines[:2])
    assert "<?xml" not in text and "RenderingInfo" not in text


def test_line_breaks_in_xml_read_as_lf():
    row = dict(EVENT_2004, message="one\r\ntwo", data={"%1": "a\r\nb"})
    [back] = read_back(write(ee.write_event_viewer_xml, [row]), "xml")
    assert (back["message"], back["data"]) == ("one\ntwo", {"%1": "a\nb"})


def test_unnamed_data_out_of_order_is_refused():
    with pytest.raises(ValueError, match="%1, %2"):
        write(ee.write_wevtutil_xml, [dict(EVENT_2004, data={"Name": "x", "%1": "y"})])


def test_bad_options_are_refused():
    with pytest.raises(ValueError, match="culture"):
        write(ee.write_event_viewer_csv, ROWS, culture="es-ES")
    with pytest.raises(ValueError, match="encoding"):
        write(ee.write_eventlog_clixml, ROWS, encoding="cp1252")


def test_writers_take_paths(tmp_path):
    target = tmp_path / "Application.csv"
    assert ee.write_event_viewer_csv(target, ROWS, tz="UTC") == 3
    assert target.read_bytes() == write(ee.write_event_viewer_csv, ROWS, tz="UTC")


TEXT = st.text(st.characters(blacklist_categories=("Cs", "Cc", "Cn")) | st.sampled_from("\r\n\t\"',;<>&_x"),
               max_size=40)
XML_TEXT = st.text(st.characters(blacklist_categories=("Cs", "Cc", "Cn")) | st.sampled_from("\n\t\"'<>&"), max_size=40)


@settings(max_examples=60, deadline=None)
@given(message=TEXT, values=st.lists(TEXT, max_size=12))
def test_any_text_round_trips_through_csv_txt_and_clixml(message, values):
    row = dict(EVENT_2004, message=message, data={f"%{i}": v for i, v in enumerate(values, 1)})
    for writer in (ee.write_event_viewer_csv, ee.write_event_viewer_txt):
        [back] = read_back(write(writer, [row], tz="Europe/Warsaw", encoding="utf-16"), "text")
        assert back["message"] == (message or None)
    [back] = read_back(write(ee.write_eventlog_clixml, [row], tz="Europe/Warsaw"), "clixml")
    assert (back["message"], back["data"]) == (message, row["data"])
    [back] = read_back(write(ee.write_winevent_clixml, [row], tz="Europe/Warsaw"), "winevent")
    assert (back["message"], back["data"]) == (message, row["data"])


@settings(max_examples=60, deadline=None)
@given(message=XML_TEXT, values=st.lists(XML_TEXT, max_size=12), computer=XML_TEXT.filter(bool))
def test_any_text_round_trips_through_xml(message, values, computer):
    row = dict(EVENT_2004, message=message, computer=computer,
               data={f"%{i}": v for i, v in enumerate(values, 1)})
    [back] = read_back(write(ee.write_event_viewer_xml, [row]), "xml")
    assert (back["message"], back["data"], back["computer"]) == (message or None, row["data"], computer)


MPEX02_TASKS = {("MSExchangeTransport", 2): "SmtpSend", ("MSExchangeTransport", 12): "TransportService"}


@pytest.mark.real_exports
def test_get_winevent_clixml_writer_reproduces_the_reference_byte_for_byte(real_exports):
    reference = real_exports / "generated" / "Get-WinEvent-Application.xml"
    frame = read_events(reference)
    rows = [{k: (None if not isinstance(v, dict) and pd.isna(v) else v) for k, v in r.items()}
            for r in frame.to_dict(orient="records")]
    for row in rows:
        row["time_created"] = row["time_created"].value
    assert write(ee.write_winevent_clixml, rows, tz="America/Denver", task_names=MPEX02_TASKS) == \
        reference.read_bytes()


def test_get_winevent_clixml_keeps_every_100_ns_and_the_offset():
    row = dict(EVENT_2004, time_created=1742476504 * SECOND + 1234500 * 100)
    text = write(ee.write_winevent_clixml, [row], tz="Europe/Warsaw").decode("utf-16")
    assert '<DT N="TimeCreated">2025-03-20T14:15:04.12345+01:00</DT>' in text      # XmlConvert drops trailing zeros
    assert read_back(write(ee.write_winevent_clixml, [row], tz="Europe/Warsaw"), "winevent") == \
        expected([row], "winevent")


def _without_binary(row: dict) -> dict:
    return {k: v for k, v in row["data"].items() if k != "Binary"}


@pytest.mark.parametrize("edition", ["5.1", "7"])
def test_get_winevent_json_round_trips(edition):
    data = write(ee.write_winevent_json, ROWS, edition=edition, tz="Europe/Warsaw")
    assert data.startswith(b"\xff\xfe[\x00\r\x00\n\x00" if edition == "5.1" else b"[\r\n  {\r\n")
    back = read_back(data, "winevent")
    wanted = expected(ROWS, "winevent")
    for row in wanted:
        row["data"] = _without_binary(row)          # beyond -Depth 2: written as System.Byte[]
        if edition == "5.1":                         # \/Date(ms)\/
            row["time_created"] = row["time_created"] // 1_000_000 * 1_000_000
    assert back == wanted
    [single] = read_back(write(ee.write_winevent_json, [EVENT_2004], edition=edition), "winevent")
    assert single["data"] == EVENT_2004["data"]      # one record: an object, not a list


def test_get_winevent_json_shapes():
    data51 = write(ee.write_winevent_json, [EVENT_2004], tz="Europe/Warsaw")
    text51 = data51.decode("utf-16-le")
    assert text51.startswith('\ufeff{\r\n    "Message":  "Send connector Outbound to Office 365: ')
    assert '"TimeCreated":  "\\/Date(1742476504000)\\/",\r\n' in text51
    assert '"Value":  "\\u003c20250320131504.7f3a1c@contoso.com\\u003e"' in text51
    assert '\r\n    "KeywordsDisplayNames":  [\r\n' + " " * 33 + '"Classic"\r\n' + " " * 29 + "],\r\n" in text51
    text7 = write(ee.write_winevent_json, [EVENT_2004], edition="7", tz="Europe/Warsaw").decode("utf-8")
    assert '  "TimeCreated": "2025-03-20T14:15:04+01:00",\r\n' in text7 and '"MatchedQueryIds": [],' in text7
    assert text7.endswith("\r\n  ]\r\n}\r\n")


@pytest.mark.parametrize(("edition", "culture"), [("5.1", "en-US"), ("7", "pl-PL"), ("5.1", "en-AU")])
def test_get_winevent_csv_round_trips(edition, culture):
    data = write(ee.write_winevent_csv, ROWS, edition=edition, culture=culture, tz="Europe/Warsaw")
    assert data.startswith(b"#TYPE System.Diagnostics.Eventing.Reader.EventLogRecord\r\n" if edition == "5.1"
                           else b'"Message","Id","Version",')
    with pytest.warns(DataLossWarning, match="2 record"):   # 12014's and 12023's texts give no insertion strings
        frame = read_events(io.BytesIO(data), tz="Europe/Warsaw")
    columns = [c for c in COLUMNS if c != "data"]
    back = [{c: (None if pd.isna(r[c]) else r[c]) for c in columns} for r in frame.to_dict("records")]
    for row in back:
        row["time_created"] = row["time_created"].value
    wanted = [{c: row[c] for c in columns} for row in expected(ROWS, "winevent")]
    for row in wanted:
        row["time_created"] = row["time_created"] // SECOND * SECOND      # the culture's long time: seconds
        if edition == "5.1":
            row["message"] = row["message"].encode("ascii", "replace").decode("ascii")   # ASCII: "?"
    assert back == wanted
    assert frame["data"].tolist() == [EVENT_2004["data"], {}, {}]      # 2004's back out of the English message


@pytest.mark.slow   # generates the case's certificates and logs (about ten seconds)
def test_a_case_exports_its_transport_events_with_get_winevent_and_they_are_kept_once(tmp_path):
    from exlab.case import dedupe_events
    from exlab.lab.generate import generate_case

    generate_case("tailspin-tlscertname", tmp_path, only=("evtx", "event-winevent"))
    folder = tmp_path / "tailspin-tlscertname" / "TSEX02" / "events"
    winevent = read_events(folder / "MSExchangeTransport-WinEvent.xml")
    assert winevent.attrs["parse_report"].files[0].format == "winevent-clixml"
    assert winevent["time_created"].is_monotonic_decreasing                      # newest first
    evtx = read_events(folder / "Application.evtx", providers="MSExchangeTransport")
    columns = ["time_created", "computer", "event_id", "qualifiers", "level", "task", "keywords", "record_id", "data"]
    pd.testing.assert_frame_equal(winevent[columns].iloc[::-1].reset_index(drop=True), evtx[columns])
    both = read_events([folder / "Application.evtx", folder / "MSExchangeTransport-WinEvent.xml"])
    kept = dedupe_events(both)
    assert len(kept) == len(both) - len(winevent) and set(kept["source"]) == {str(folder / "Application.evtx")}


def test_get_winevent_writers_refuse_unknown_options():
    with pytest.raises(ValueError, match="edition"):
        write(ee.write_winevent_json, ROWS, edition="6")
    with pytest.raises(ValueError, match="culture"):
        write(ee.write_winevent_csv, ROWS, culture="xx-XX")
    with pytest.raises(ValueError, match="encoding"):
        write(ee.write_winevent_clixml, ROWS, encoding="cp1252")
