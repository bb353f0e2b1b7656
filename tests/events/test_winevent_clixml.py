"""Get-WinEvent | Export-Clixml: the real CSS-Exchange exports and the MPEX02 sample, as the README says."""

from __future__ import annotations

import io
import warnings

import pandas as pd
import pytest

from exlab import read_events
from exlab.errors import CorruptInput, DataLossWarning, UnsupportedFormat

RESPONSE = "454 4.7.0 Failed to establish appropriate TLS channel: UntrustedRoot: Access Denied"
MESSAGE_ID = "<746A27273D53F4E350DDBACE3B853A77@MPEX02.MUNSONSPICKLES.COM>"


def read_clean(source) -> pd.DataFrame:
    """Read with every warning an error: a good file loses nothing and assumes nothing."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        return read_events(source)


def utc(text: str) -> pd.Timestamp:
    return pd.Timestamp(text, tz="UTC")


@pytest.mark.real_exports
def test_oldest_application_record(real_exports):
    frame = read_clean(real_exports / "css-exchange" / "HC-E16-GetWinEventOldestApplication.xml")
    report = frame.attrs["parse_report"].files[0]
    assert (report.format, report.records_read, report.records_skipped) == ("winevent-clixml", 1, 0)
    [row] = frame.to_dict("records")
    assert (row["provider"], row["event_id"], row["qualifiers"], row["level"], row["task"], row["record_id"]) == \
        ("Microsoft-Windows-MSDTC", 4111, 16384, 4, 1, 1250)
    assert (row["computer"], row["channel"], row["keywords"]) == ("WIN-S9MI90B3JAK", "Application", "0x80000000000000")
    assert row["time_created"] == utc("2021-10-06 22:44:43.5360963")   # -07:00 in the file, every 100 ns kept
    assert row["message"] == "The MS DTC service is stopping."
    # no insertion strings: the one property is the classic event's binary data ("MSDTC", UTF-16 LE)
    assert row["data"] == {"Binary": "4D005300440054004300"}


@pytest.mark.real_exports
def test_oldest_system_record_has_no_qualifiers(real_exports):
    frame = read_clean(real_exports / "css-exchange" / "HC-E16-GetWinEventOldestSystem.xml")
    [row] = frame.to_dict("records")
    assert pd.isna(frame["qualifiers"].iloc[0]) and str(frame["qualifiers"].dtype) == "Int32"
    assert (row["provider"], row["event_id"], row["level"], row["task"], row["record_id"]) == \
        ("Microsoft-Windows-Eventlog", 104, 4, 104, 4762)
    assert (row["computer"], row["channel"]) == ("WIN-S9MI90B3JAK", "System")
    assert row["keywords"] == "0x8000000000000000"        # Int64 -9223372036854775808 in the file
    assert row["time_created"] == utc("2021-10-06 22:44:43.0986128")
    assert row["message"] == "The System log file was cleared."
    assert row["data"] == {"%1": "Administrator", "%2": "WIN-S9MI90B3JAK", "%3": "System", "%4": ""}


@pytest.mark.real_exports
def test_transport_records_newest_first(real_exports):
    frame = read_clean(real_exports / "generated" / "Get-WinEvent-Application.xml")
    assert frame["record_id"].tolist() == [771190, 771002]             # the file's order: newest first
    assert frame["event_id"].tolist() == [2004, 12014]
    assert frame["qualifiers"].tolist() == [16388, 49156]
    assert frame["level"].tolist() == [4, 2] and frame["task"].tolist() == [2, 12]
    assert frame["time_created"].tolist() == [utc("2025-06-02 09:16:03.12"), utc("2025-06-02 06:16:03.12")]
    assert set(frame["computer"]) == {"mpex02.munsonspickles.com"} and set(frame["channel"]) == {"Application"}
    first, second = frame["data"]
    assert first == {"%1": "Outbound to Office 365", "%2": MESSAGE_ID, "%3": RESPONSE}
    assert second == {"%1": "smtp.munsonspickles.com", "%2": "Default Frontend MPEX02", "%3": "smtp.munsonspickles.com"}
    assert frame["message"].iloc[0].endswith(f"acknowledged with SMTP response {RESPONSE}.")


@pytest.mark.real_exports
def test_powershell_7_and_remote_shapes_read_the_same(real_exports):
    # the same document as PowerShell 7 writes it (UTF-8, no BOM), and from a remote session
    # (Invoke-Command { Get-WinEvent ... } | Export-Clixml: "Deserialized." type names)
    text = (real_exports / "generated" / "Get-WinEvent-Application.xml").read_bytes().decode("utf-16")
    expected = read_events(real_exports / "generated" / "Get-WinEvent-Application.xml").drop(columns="source")
    remote = text.replace("<T>System.", "<T>Deserialized.System.")
    assert remote != text
    for data in (text.encode("utf-8"), remote.encode("utf-16"), ("\ufeff" + text).encode("utf-8")):
        pd.testing.assert_frame_equal(read_clean(io.BytesIO(data)).drop(columns="source"), expected)


@pytest.mark.real_exports
def test_properties_serialized_too_deep_are_said_lost(real_exports):
    # at remoting's depth 1 each EventProperty arrives as its type name only
    text = (real_exports / "generated" / "Get-WinEvent-Application.xml").read_bytes().decode("utf-16")
    start = text.index('<Obj RefId="13">')
    end = text.index("</LST>", start)
    shallow = text[:start] + "<S>System.Diagnostics.Eventing.Reader.EventProperty</S>" * 3 + text[end:]
    frame = read_events(io.BytesIO(shallow.encode("utf-16")))
    report = frame.attrs["parse_report"].files[0]
    assert (report.records_read, report.records_skipped) == (2, 0)
    assert frame["data"].tolist() == [{"%1": "Outbound to Office 365", "%2": MESSAGE_ID, "%3": RESPONSE}, {}]
    assert any("1 record(s) without their Properties" in note for note in report.warnings)


@pytest.mark.real_exports
def test_a_damaged_record_is_skipped_counted_and_warned_once(real_exports):
    text = (real_exports / "generated" / "Get-WinEvent-Application.xml").read_bytes().decode("utf-16")
    damaged = text.replace('<DT N="TimeCreated">2025-06-02T03:16:03.12-06:00</DT>',
                           '<DT N="TimeCreated">2025-06-32T03:16:03.12-06:00</DT>')
    damaged = damaged.replace('<I32 N="Id">12014</I32>', '<I32 N="Id">x12014</I32>')
    with pytest.warns(DataLossWarning) as caught:
        frame = read_events(io.BytesIO(damaged.encode("utf-16")))
    assert len([w for w in caught if issubclass(w.category, DataLossWarning)]) == 1
    report = frame.attrs["parse_report"].files[0]
    assert frame.empty and (report.records_read, report.records_skipped) == (0, 2)
    assert report.losses[0].where == "object 1" and "2025-06-32" in report.losses[0].reason
    assert report.losses[1].where == "object 2" and "Id" in report.losses[1].reason


@pytest.mark.real_exports
def test_truncated_file_keeps_what_came_before_or_names_the_place(real_exports):
    text = (real_exports / "generated" / "Get-WinEvent-Application.xml").read_bytes().decode("utf-16")
    cut = text[:text.index('<I32 N="Id">12014')]
    with pytest.warns(DataLossWarning, match="1 chunk"):
        frame = read_events(io.BytesIO(cut.encode("utf-16")))
    assert frame["record_id"].tolist() == [771190]
    assert "after object 1" in frame.attrs["parse_report"].files[0].losses[0].where
    with pytest.raises(CorruptInput, match=r"<stream>, line \d+ column \d+: expected well-formed CliXml"):
        read_events(io.BytesIO(text[:text.index('<I32 N="Id">2004')].encode("utf-16")))


@pytest.mark.real_exports
def test_other_clixml_is_not_taken_for_get_winevent(real_exports):
    from exlab.events import winevent_clixml
    for name in ("HC-E16-GetExchangeCertificate.xml", "HC-E16-GetExchangeServer.xml"):
        assert not winevent_clixml.detect((real_exports / "css-exchange" / name).read_bytes()[:65536])
    with pytest.raises(UnsupportedFormat):
        read_events(real_exports / "css-exchange" / "HC-E16-GetExchangeCertificate.xml")


def test_query_filters_apply():
    from exlab.lab.event_exports import write_winevent_clixml
    rows = [{"time_created": n * 1_000_000_000, "provider": "MSExchangeTransport", "event_id": event_id,
             "qualifiers": 16388, "level": 4, "record_id": n, "data": {}} for n, event_id in ((3, 2004), (2, 12014))]
    out = io.BytesIO()
    write_winevent_clixml(out, rows)
    frame = read_events(io.BytesIO(out.getvalue()), event_ids=[12014])
    assert frame["record_id"].tolist() == [2]
    assert frame.attrs["parse_report"].files[0].records_read == 2


@pytest.mark.real_exports
@pytest.mark.parametrize("name", ["css-exchange/HC-E16-GetWinEventOldestApplication.xml",
                                  "css-exchange/HC-E16-GetWinEventOldestSystem.xml",
                                  "generated/Get-WinEvent-Application.xml"])
def test_get_winevent_files_are_taken_for_nothing_else(real_exports, name):
    from exlab.certs.reader import detect_format as detect_certs
    from exlab.events import clixml, winevent_clixml
    from exlab.events.reader import detect_format
    from exlab.evidence import open_evidence
    from exlab.transport.settings import detect_connectors, detect_servers

    evidence = open_evidence(real_exports / name)
    assert detect_format(evidence) is winevent_clixml
    head = evidence.head(65536)
    assert not (clixml.detect(head) or detect_connectors(head) or detect_servers(head))
    with pytest.raises(UnsupportedFormat):
        detect_certs(evidence)
