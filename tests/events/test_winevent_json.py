"""Get-WinEvent | ConvertTo-Json: the README's records in Windows PowerShell 5.1's and PowerShell 7's shapes
(hand-written here as each writes them)."""

from __future__ import annotations

import io
import warnings

import pandas as pd
import pytest

from exlab import read_events
from exlab.errors import CorruptInput, DataLossWarning, UnsupportedFormat
from exlab.events import winevent_json

RESPONSE = "454 4.7.0 Failed to establish appropriate TLS channel: UntrustedRoot: Access Denied"
MESSAGE_ID = "<746A27273D53F4E350DDBACE3B853A77@MPEX02.MUNSONSPICKLES.COM>"
ESCAPED_ID = MESSAGE_ID.replace("<", "\\u003c").replace(">", "\\u003e")

# Windows PowerShell 5.1: "name":  value, nested brackets indented from where they open, \/Date(ms)\/
WINDOWS_POWERSHELL = """[
    {
        "Message":  "Send connector Outbound to Office 365: Message delivery was not successful. The message with message ID %(id)s was acknowledged with SMTP response %(response)s.",
        "Id":  2004,
        "Version":  0,
        "Qualifiers":  16388,
        "Level":  4,
        "Task":  2,
        "Opcode":  0,
        "Keywords":  36028797018963968,
        "RecordId":  771190,
        "ProviderName":  "MSExchangeTransport",
        "ProviderId":  null,
        "LogName":  "Application",
        "ProcessId":  0,
        "ThreadId":  0,
        "MachineName":  "mpex02.munsonspickles.com",
        "UserId":  null,
        "TimeCreated":  "\\/Date(1748855763120)\\/",
        "ActivityId":  null,
        "RelatedActivityId":  null,
        "ContainerLog":  "Application",
        "MatchedQueryIds":  [

                            ],
        "Bookmark":  {

                     },
        "LevelDisplayName":  "Information",
        "OpcodeDisplayName":  null,
        "TaskDisplayName":  "SmtpSend",
        "KeywordsDisplayNames":  [
                                     "Classic"
                                 ],
        "Properties":  [
                           {
                               "Value":  "Outbound to Office 365"
                           },
                           {
                               "Value":  "%(id)s"
                           },
                           {
                               "Value":  "%(response)s"
                           }
                       ]
    },
    {
        "Message":  "Microsoft Exchange could not find a certificate that contains the domain name smtp.munsonspickles.com.",
        "Id":  12014,
        "Qualifiers":  49156,
        "Level":  2,
        "Task":  12,
        "Keywords":  36028797018963968,
        "RecordId":  771002,
        "ProviderName":  "MSExchangeTransport",
        "LogName":  "Application",
        "MachineName":  "mpex02.munsonspickles.com",
        "TimeCreated":  "\\/Date(1748844963120)\\/",
        "Properties":  [
                           {
                               "Value":  "smtp.munsonspickles.com"
                           },
                           {
                               "Value":  "Default Frontend MPEX02"
                           },
                           {
                               "Value":  "smtp.munsonspickles.com"
                           }
                       ]
    }
]
""".replace("\n", "\r\n") % {"id": ESCAPED_ID, "response": RESPONSE}

# PowerShell 7, one record: an object, not a list; ISO 8601 with the offset and 100-ns digits
POWERSHELL_7 = """{
  "Message": "The System log file was cleared.",
  "Id": 104,
  "Version": 0,
  "Qualifiers": null,
  "Level": 4,
  "Task": 104,
  "Opcode": 0,
  "Keywords": -9223372036854775808,
  "RecordId": 4762,
  "ProviderName": "Microsoft-Windows-Eventlog",
  "ProviderId": "fc65ddd8-d6ef-4962-83d5-6e5cfe9ce148",
  "LogName": "System",
  "ProcessId": 1012,
  "ThreadId": 4308,
  "MachineName": "WIN-S9MI90B3JAK",
  "UserId": {
    "BinaryLength": 28,
    "AccountDomainSid": "S-1-5-21-1817384130-1785471511-337968274",
    "Value": "S-1-5-21-1817384130-1785471511-337968274-500"
  },
  "TimeCreated": "2021-10-06T15:44:43.0986128-07:00",
  "ActivityId": null,
  "RelatedActivityId": null,
  "ContainerLog": "system",
  "MatchedQueryIds": [],
  "Bookmark": {},
  "LevelDisplayName": "Information",
  "OpcodeDisplayName": "Info",
  "TaskDisplayName": "Log clear",
  "KeywordsDisplayNames": [],
  "Properties": [
    {
      "Value": "Administrator"
    },
    {
      "Value": "WIN-S9MI90B3JAK"
    },
    {
      "Value": "System"
    },
    {
      "Value": ""
    }
  ]
}
""".replace("\n", "\r\n")


def read_quiet(data: bytes) -> pd.DataFrame:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        return read_events(io.BytesIO(data))


def test_windows_powershell_json_gives_the_readme_values():
    frame = read_quiet(("\ufeff" + WINDOWS_POWERSHELL).encode("utf-16-le"))   # "> file": UTF-16 LE, BOM
    report = frame.attrs["parse_report"].files[0]
    assert (report.format, report.records_read, report.records_skipped) == ("winevent-json", 2, 0)
    assert frame["record_id"].tolist() == [771190, 771002]
    assert frame["event_id"].tolist() == [2004, 12014] and frame["qualifiers"].tolist() == [16388, 49156]
    assert frame["level"].tolist() == [4, 2] and frame["task"].tolist() == [2, 12]
    # \/Date(ms)\/: to the millisecond only, and the report says so
    assert frame["time_created"].tolist() == [pd.Timestamp("2025-06-02 09:16:03.12", tz="UTC"),
                                              pd.Timestamp("2025-06-02 06:16:03.12", tz="UTC")]
    assert any("to the millisecond" in note for note in report.warnings)
    assert frame["data"].tolist() == [
        {"%1": "Outbound to Office 365", "%2": MESSAGE_ID, "%3": RESPONSE},
        {"%1": "smtp.munsonspickles.com", "%2": "Default Frontend MPEX02", "%3": "smtp.munsonspickles.com"}]
    assert MESSAGE_ID in frame["message"].iloc[0] and set(frame["keywords"]) == {"0x80000000000000"}


def test_powershell_7_single_object_keeps_every_100_ns():
    frame = read_quiet(POWERSHELL_7.encode("utf-8"))
    [row] = frame.to_dict("records")
    assert row["time_created"] == pd.Timestamp("2021-10-06 22:44:43.0986128", tz="UTC")
    assert pd.isna(row["qualifiers"]) and row["keywords"] == "0x8000000000000000"
    assert (row["event_id"], row["level"], row["task"], row["record_id"], row["channel"], row["computer"]) == \
        (104, 4, 104, 4762, "System", "WIN-S9MI90B3JAK")
    assert row["data"] == {"%1": "Administrator", "%2": "WIN-S9MI90B3JAK", "%3": "System", "%4": ""}
    assert row["message"] == "The System log file was cleared."


def test_values_beyond_the_depth_are_said_lost():
    shallow = POWERSHELL_7.replace('"Properties": [\r\n    {\r\n      "Value": "Administrator"\r\n    },',
                                   '"Properties": [\r\n    "System.Diagnostics.Eventing.Reader.EventProperty",')
    frame = read_events(io.BytesIO(shallow.encode("utf-8")))
    assert frame["data"].tolist() == [{}]
    assert any("without their Properties" in note for note in frame.attrs["parse_report"].files[0].warnings)


def test_a_damaged_record_is_skipped_counted_and_warned_once():
    damaged = WINDOWS_POWERSHELL.replace('"\\/Date(1748844963120)\\/"', '"yesterday"').replace(
        '"Id":  2004', '"Id":  "2004x"')
    with pytest.warns(DataLossWarning) as caught:
        frame = read_events(io.BytesIO(damaged.encode("utf-8")))
    assert len([w for w in caught if issubclass(w.category, DataLossWarning)]) == 1
    report = frame.attrs["parse_report"].files[0]
    assert frame.empty and (report.records_read, report.records_skipped) == (0, 2)
    assert report.losses[0].where == "record 1" and "2004x" in report.losses[0].reason
    assert report.losses[1].where == "record 2" and "yesterday" in report.losses[1].reason


def test_a_truncated_file_names_the_place():
    cut = WINDOWS_POWERSHELL[:WINDOWS_POWERSHELL.index('"Id":  12014')]
    with pytest.raises(CorruptInput, match=r"<stream>, line \d+ column \d+: expected JSON as ConvertTo-Json"):
        read_events(io.BytesIO(cut.encode("utf-8")))


def test_other_json_is_not_taken_for_get_winevent():
    certificates = b'[{"Thumbprint": "92E196F3C8D3D753FCFC5B7690C3173AA1C0ABE3", "Services": 16, "Subject": "CN=x"}]'
    assert not winevent_json.detect(certificates)
    assert winevent_json.detect(POWERSHELL_7.encode("utf-16"))
    with pytest.raises(UnsupportedFormat):
        read_events(io.BytesIO(certificates))


def test_a_record_nested_too_deep_for_the_parser_is_corrupt_input_naming_the_file():
    # the json module parses by recursion: a Value of 100,000 nested arrays stopped the read with
    # RecursionError instead of naming the file
    assert WINDOWS_POWERSHELL.count('"Value":  "Outbound to Office 365"') == 1
    deep = WINDOWS_POWERSHELL.replace('"Value":  "Outbound to Office 365"', '"Value":  ' + "[" * 100_000 + "]" * 100_000)
    with pytest.raises(CorruptInput, match=r"^<stream>, the document: expected JSON as ConvertTo-Json writes "
                                           r"Get-WinEvent's records \(nested too deep to read\)$"):
        read_events(io.BytesIO(deep.encode("utf-8")))
