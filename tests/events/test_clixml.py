"""Get-EventLog | Export-Clixml: hand-written fixtures in Windows PowerShell 5.1's shape."""

from __future__ import annotations

import io
from pathlib import Path

import pandas as pd
import pytest

from exlab import read_events
from exlab.errors import CorruptInput, DataLossWarning, UnsupportedFormat
from exlab.events import clixml

FIXTURES = Path(__file__).parent / "fixtures"
RESPONSE = "454 4.7.0 Failed to establish appropriate TLS channel: UntrustedRoot: Access Denied"


def test_eventlog_entries_become_event_rows():
    frame = read_events(FIXTURES / "get-eventlog.clixml")
    report = frame.attrs["parse_report"].files[0]
    assert (report.format, report.records_read, report.records_skipped) == ("eventlog-clixml", 2, 0)
    first, second = frame.iloc[0], frame.iloc[1]
    # InstanceId 1074005972 = 16388 << 16 | 2004; EventID in Props is .NET's masked value, not used
    assert (first["event_id"], first["qualifiers"], first["level"], first["task"]) == (2004, 16388, 4, 2)
    assert (second["event_id"], second["qualifiers"], second["level"], second["task"]) == (12014, 49156, 2, 12)
    assert first["time_created"] == pd.Timestamp("2025-03-20 13:15:04", tz="UTC")   # +01:00 in the file
    assert (first["computer"], first["provider"], first["record_id"]) == ("EX01.contoso.com", "MSExchangeTransport",
                                                                         48213)
    assert first["data"] == {"%1": "Outbound to Office 365", "%2": "<7f3a1c@contoso.com>", "%3": RESPONSE, "%4": ""}
    assert first["message"] == ("Send connector Outbound to Office 365: Message delivery was not successful.\r\n"
                                f"SMTP response: {RESPONSE}")
    assert second["data"]["Binary"] == "0A0B0C"          # <BA>CgsM</BA>
    assert second["message"].endswith("Path: C:\\Program Files\\Microsoft\\Exchange Server\\V15\\x_x0041_")
    assert frame[["channel", "keywords", "record_number"]].isna().all().all()


def test_entries_from_a_remote_session_are_read_the_same():
    # Invoke-Command { Get-EventLog ... } | Export-Clixml: type names carry "Deserialized."
    local = (FIXTURES / "get-eventlog.clixml").read_bytes().decode("utf-16")
    remote = local.replace("<T>System.", "<T>Deserialized.System.")
    assert remote != local
    frame = read_events(io.BytesIO(remote.encode("utf-16")))
    pd.testing.assert_frame_equal(frame.drop(columns="source"),
                                  read_events(FIXTURES / "get-eventlog.clixml").drop(columns="source"))


def test_other_clixml_is_left_to_other_readers():
    with pytest.raises(UnsupportedFormat):
        read_events(FIXTURES / "exchange-certificate.clixml")


def test_truncated_clixml_keeps_the_entries_before_the_break():
    with pytest.warns(DataLossWarning, match="1 chunk"):
        frame = read_events(FIXTURES / "get-eventlog-truncated.clixml")
    report = frame.attrs["parse_report"].files[0]
    assert frame["record_id"].tolist() == [48213]
    assert report.chunks_skipped == 1 and "after object 1" in report.losses[0].where


def test_an_entry_without_time_is_skipped_and_counted():
    text = (FIXTURES / "get-eventlog.clixml").read_bytes().decode("utf-16")
    start = text.index('<DT N="TimeGenerated">2025-03-20T10:05:44')
    damaged = text[:start] + text[text.index("</DT>", start) + 5:]
    with pytest.warns(DataLossWarning):
        frame = read_events(io.BytesIO(damaged.encode("utf-16")))
    report = frame.attrs["parse_report"].files[0]
    assert frame["record_id"].tolist() == [48213]
    assert report.losses[0].where == "object 2" and "TimeGenerated" in report.losses[0].reason


def test_a_document_that_breaks_at_once_is_corrupt():
    head = ('<Objs Version="1.1.0.1" xmlns="http://schemas.microsoft.com/powershell/2004/04"><Obj RefId="0">'
            '<TN RefId="0"><T>System.Diagnostics.EventLogEntry</T></TN><Props><S N="Source">a</S<')
    with pytest.raises(CorruptInput, match="well-formed CliXml"):
        read_events(io.BytesIO(head.encode("utf-8")))


def test_refs_and_string_escapes():
    assert clixml.decode_string("_xD83D__xDE00_ and _x005F_x0041_") == "\U0001F600 and _x0041_"
    for text in ("a\r\nb", "tab\there", "_x0041_", "plain_xyz", "\x01", "émoji \U0001F600"):
        assert clixml.decode_string(clixml.encode_string(text)) == text
    ref_doc = ('<Objs Version="1.1.0.1" xmlns="http://schemas.microsoft.com/powershell/2004/04">'
               '<Obj RefId="0"><TN RefId="0"><T>System.Diagnostics.EventLogEntry</T></TN><Props>'
               '<Obj N="ReplacementStrings" RefId="1"><TN RefId="1"><T>System.String[]</T></TN><LST><S>x</S></LST></Obj>'
               '<I64 N="InstanceId">7</I64><DT N="TimeGenerated">2025-03-20T13:15:04Z</DT></Props></Obj>'
               '<Obj RefId="2"><TNRef RefId="0" /><Props><Ref N="ReplacementStrings" RefId="1" />'
               '<I64 N="InstanceId">8</I64><DT N="TimeGenerated">2025-03-20T13:15:05Z</DT></Props></Obj></Objs>')
    frame = read_events(io.BytesIO(ref_doc.encode("utf-8")))
    assert frame["event_id"].tolist() == [7, 8]
    assert frame["data"].tolist() == [{"%1": "x"}, {"%1": "x"}]
