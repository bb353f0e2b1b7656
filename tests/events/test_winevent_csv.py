"""Get-WinEvent | Export-Csv: the MPEX02 records of the real-exports README, as Windows PowerShell 5.1
and PowerShell 7 write them (hand-written here in those shapes)."""

from __future__ import annotations

import io
import warnings

import pandas as pd
import pytest

from exlab import read_events
from exlab.errors import AssumptionWarning, CorruptInput, DataLossWarning, UnsupportedFormat
from exlab.events import winevent_csv

RESPONSE = "454 4.7.0 Failed to establish appropriate TLS channel: UntrustedRoot: Access Denied"
MESSAGE_ID = "<746A27273D53F4E350DDBACE3B853A77@MPEX02.MUNSONSPICKLES.COM>"
MESSAGE_2004 = ("Send connector Outbound to Office 365: Message delivery was not successful. The message with message "
                f"ID {MESSAGE_ID} was acknowledged with SMTP response {RESPONSE}.")
NAMES = ("Message", "Id", "Version", "Qualifiers", "Level", "Task", "Opcode", "Keywords", "RecordId", "ProviderName",
         "ProviderId", "LogName", "ProcessId", "ThreadId", "MachineName", "UserId", "TimeCreated", "ActivityId",
         "RelatedActivityId", "ContainerLog", "MatchedQueryIds", "Bookmark", "LevelDisplayName", "OpcodeDisplayName",
         "TaskDisplayName", "KeywordsDisplayNames", "Properties")
HEADER = ",".join(f'"{name}"' for name in NAMES)
MESSAGE_12014 = ("Microsoft Exchange could not find a certificate that contains the domain name smtp.munsonspickles.com "
                 "in the personal store on the local computer. Therefore, it is unable to support the STARTTLS SMTP verb "
                 "for the connector Default Frontend MPEX02 with a FQDN parameter of smtp.munsonspickles.com.\r\n"
                 'If the connector\'s FQDN is not specified, the computer\'s FQDN is used. "Verify" the configuration.')


def record(message: str, event_id: int, qualifiers: int | None, level: int, task: int, record_id: int, when: str,
           level_name: str = "Information", task_name: str = "SmtpSend", provider: str = "MSExchangeTransport",
           delimiter: str = ",") -> str:
    """One record line as Export-Csv writes it: every value quoted, null as an empty cell."""
    cells = [message, event_id, None, qualifiers, level, task, None, 36028797018963968, record_id, provider, None,
             "Application", 0, 0, "mpex02.munsonspickles.com", None, when, None, None, "Application",
             "System.UInt32[]", "System.Diagnostics.Eventing.Reader.EventBookmark", level_name, None, task_name,
             "System.Collections.ObjectModel.ReadOnlyCollection`1[System.String]",
             "System.Collections.Generic.List`1[System.Diagnostics.Eventing.Reader.EventProperty]"]
    return delimiter.join("" if c is None else '"' + str(c).replace('"', '""') + '"' for c in cells)


def mpex02(delimiter: str = ",") -> list[str]:
    return [record(MESSAGE_2004, 2004, 16388, 4, 2, 771190, "6/2/2025 3:16:03 AM", delimiter=delimiter),
            record(MESSAGE_12014, 12014, 49156, 2, 12, 771002, "6/2/2025 12:16:03 AM", "Error", "TransportService",
                   delimiter=delimiter)]


MPEX02 = mpex02()


def windows_powershell(lines: list[str]) -> bytes:
    """Windows PowerShell 5.1's Export-Csv: the #TYPE line, CRLF, ASCII."""
    return ("#TYPE System.Diagnostics.Eventing.Reader.EventLogRecord\r\n" + HEADER + "\r\n"
            + "".join(line + "\r\n" for line in lines)).encode("ascii")


def read_quiet(data: bytes, **options) -> pd.DataFrame:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        return read_events(io.BytesIO(data), **options)


def test_windows_powershell_export_gives_the_readme_values():
    frame = read_quiet(windows_powershell(MPEX02), tz="America/Denver")
    report = frame.attrs["parse_report"].files[0]
    assert (report.format, report.records_read, report.records_skipped) == ("winevent-csv", 2, 0)
    assert report.assumed_tz == "America/Denver"
    assert frame["record_id"].tolist() == [771190, 771002]          # newest first, as written
    assert frame["event_id"].tolist() == [2004, 12014] and frame["qualifiers"].tolist() == [16388, 49156]
    assert frame["level"].tolist() == [4, 2] and frame["task"].tolist() == [2, 12]
    assert frame["time_created"].tolist() == [pd.Timestamp("2025-06-02 09:16:03", tz="UTC"),
                                              pd.Timestamp("2025-06-02 06:16:03", tz="UTC")]
    assert set(frame["keywords"]) == {"0x80000000000000"} and set(frame["channel"]) == {"Application"}
    assert set(frame["computer"]) == {"mpex02.munsonspickles.com"}
    # Properties is only a type name: the catalog takes the insertion strings back out of the message
    assert frame["data"].iloc[0] == {"%1": "Outbound to Office 365", "%2": MESSAGE_ID, "%3": RESPONSE}
    assert frame["data"].iloc[1]["%1"] == "smtp.munsonspickles.com"
    assert frame["data"].iloc[1]["%2"] == "Default Frontend MPEX02"  # not the rest of Exchange's sentence
    assert frame["message"].iloc[1] == MESSAGE_12014                # a line break and quotes inside the cell
    assert any("taken back out of the message" in note for note in report.warnings)


def test_powershell_7_export_without_type_line_in_a_day_first_culture():
    lines = [line.replace("6/2/2025 3:16:03 AM", "02.06.2025 03:16:03").replace("6/2/2025 12:16:03 AM",
                                                                                  "02.06.2025 00:16:03")
             for line in MPEX02]
    data = (HEADER + "\r\n" + "".join(line + "\r\n" for line in lines)).encode("utf-8")
    with pytest.warns(AssumptionWarning, match="UTC"):
        frame = read_events(io.BytesIO(data))                       # no tz given: UTC, and said so
    report = frame.attrs["parse_report"].files[0]
    assert report.assumed_tz == "UTC"
    assert frame["time_created"].tolist() == [pd.Timestamp("2025-06-02 03:16:03", tz="UTC"),
                                              pd.Timestamp("2025-06-02 00:16:03", tz="UTC")]


def test_use_culture_semicolons_and_utf16():
    text = "\r\n".join([HEADER.replace(",", ";"), *mpex02(";")]) + "\r\n"
    frame = read_quiet(("\ufeff" + text).encode("utf-16-le"), tz="America/Denver")
    assert frame["event_id"].tolist() == [2004, 12014]
    assert frame["data"].iloc[0]["%2"] == MESSAGE_ID


def test_ambiguous_day_and_month_are_settled_by_how_the_culture_writes_them():
    # en-AU writes d/MM/yyyy and lower-case am/pm: 2/06/2025 is 2 June, not 6 February
    lines = [MPEX02[0].replace("6/2/2025 3:16:03 AM", "2/06/2025 3:16:03 am")]
    frame = read_quiet(windows_powershell(lines), tz="Australia/Perth")
    assert frame["time_created"].tolist() == [pd.Timestamp("2025-06-01 19:16:03", tz="UTC")]


def test_records_without_catalogued_text_are_said_to_lack_data():
    lines = [record("The MS DTC service is stopping.", 4111, 16384, 4, 1, 1250, "10/6/2021 3:44:43 PM",
                    provider="Microsoft-Windows-MSDTC", task_name="SVC")] * 2
    with pytest.warns(DataLossWarning, match="2 record") as caught:
        frame = read_events(io.BytesIO(windows_powershell(lines)), tz="America/Los_Angeles")
    assert len([w for w in caught if issubclass(w.category, DataLossWarning)]) == 1
    assert frame["data"].tolist() == [{}, {}]
    assert frame["time_created"].iloc[0] == pd.Timestamp("2021-10-06 22:44:43", tz="UTC")
    assert any("2 record(s) without data" in note for note in frame.attrs["parse_report"].files[0].warnings)


def test_a_damaged_record_is_skipped_counted_and_warned_once():
    lines = [MPEX02[0].replace('"2004"', '"20x4"'), MPEX02[1].replace("6/2/2025 12:16:03 AM", "6/31/2025 12:16:03 AM"),
             MPEX02[0]]
    with pytest.warns(DataLossWarning) as caught:
        frame = read_events(io.BytesIO(windows_powershell(lines)), tz="America/Denver")
    assert len([w for w in caught if issubclass(w.category, DataLossWarning)]) == 1
    report = frame.attrs["parse_report"].files[0]
    assert frame["record_id"].tolist() == [771190]
    assert (report.records_read, report.records_skipped) == (1, 2)
    assert report.losses[0].where == "line 3" and "20x4" in report.losses[0].reason
    assert report.losses[1].where == "line 4" and "6/31/2025" in report.losses[1].reason   # two lines: a CRLF inside


def test_a_file_cut_inside_a_quoted_cell_is_corrupt():
    data = windows_powershell(MPEX02)
    cut = data[:data.index(b'""Verify""')]
    with pytest.raises(CorruptInput, match=r"<stream>, line 4: expected the closing quote"):
        read_events(io.BytesIO(cut), tz="America/Denver")


def test_other_csv_exports_are_not_taken_for_get_winevent():
    certificates = (b'#TYPE Microsoft.Exchange.Management.SystemConfigurationTasks.ExchangeCertificate\r\n'
                    b'"Thumbprint","Services","Subject","NotAfter"\r\n')
    event_viewer = b"Level,Date and Time,Source,Event ID,Task Category\r\n"
    event_log = (b'#TYPE System.Diagnostics.EventLogEntry\r\n"Message","Id","RecordId","ProviderName","LogName",'
                 b'"TimeCreated"\r\n')
    assert not any(winevent_csv.detect(head) for head in (certificates, event_viewer, event_log))
    assert winevent_csv.detect(windows_powershell(MPEX02))
    with pytest.raises(UnsupportedFormat):
        read_events(io.BytesIO(certificates))


def test_a_line_over_the_cap_is_read_through_counted_and_the_others_read(monkeypatch):
    monkeypatch.setattr("exlab.limits.MAX_FIELD", 1024)
    lines = [MPEX02[0].replace('"2004"', '"2004' + "9" * 3000 + '"'), MPEX02[0]]
    with pytest.warns(DataLossWarning, match="line 3: skipped 1 record"):
        frame = read_events(io.BytesIO(windows_powershell(lines)), tz="America/Denver")
    report = frame.attrs["parse_report"].files[0]
    assert frame["record_id"].tolist() == [771190]
    assert [(loss.where, loss.reason) for loss in report.losses] == [
        ("line 3", "a line longer than 1 KiB (read through, not held)")]


def test_a_time_in_the_hour_the_clocks_skip_is_kept_and_warned_once():
    # 3/8/2026 2:16 and 2:40 AM do not exist in America/Denver (clocks go from 2:00 to 3:00): likely the wrong tz
    lines = [record(MESSAGE_2004, 2004, 16388, 4, 2, 771190 + n, when)
             for n, when in enumerate(("3/8/2026 2:16:03 AM", "3/8/2026 2:40:00 AM", "3/8/2026 3:16:03 AM"))]
    with pytest.warns(AssumptionWarning) as caught:
        frame = read_events(io.BytesIO(windows_powershell(lines)), tz="America/Denver")
    assert frame["time_created"].tolist() == [pd.Timestamp("2026-03-08 09:16:03", tz="UTC"),
                                              pd.Timestamp("2026-03-08 09:40:00", tz="UTC"),
                                              pd.Timestamp("2026-03-08 09:16:03", tz="UTC")]
    assert frame.attrs["parse_report"].records_skipped == 0
    gap = [str(w.message) for w in caught if "does not exist in America/Denver" in str(w.message)]
    assert len(gap) == 1 and "2026-03-08 02:16:03" in gap[0]


@pytest.mark.parametrize("tz, day, expected", [
    # Lord Howe Island: 2:00 becomes 2:30 (+10:30 to +11:00); 2:15 never was, 2:45 is DST
    ("Australia/Lord_Howe", "10/5/2025", {"1:45:00 AM": "2025-10-04 15:15:00", "2:45:00 AM": "2025-10-04 15:45:00",
                                          "3:15:00 AM": "2025-10-04 16:15:00", "2:15:00 AM": "2025-10-04 15:45:00"}),
    # the Chatham Islands: 2:45 becomes 3:45 (+12:45 to +13:45); 2:30 is still standard time, 3:50 is DST
    ("Pacific/Chatham", "9/28/2025", {"2:30:00 AM": "2025-09-27 13:45:00", "3:50:00 AM": "2025-09-27 14:05:00",
                                      "4:30:00 AM": "2025-09-27 14:45:00", "3:00:00 AM": "2025-09-27 14:15:00"}),
])
def test_clocks_that_change_by_half_an_hour_or_off_the_hour_read_each_time_at_its_own_offset(tz, day, expected):
    lines = [record(MESSAGE_2004, 2004, 16388, 4, 2, 771190 + n, f"{day} {time}") for n, time in enumerate(expected)]
    with pytest.warns(AssumptionWarning) as caught:
        frame = read_events(io.BytesIO(windows_powershell(lines)), tz=tz)
    assert frame["time_created"].tolist() == [pd.Timestamp(when, tz="UTC") for when in expected.values()]
    gap = [str(w.message) for w in caught if "does not exist in" in str(w.message)]
    assert len(gap) == 1 and list(expected)[-1].split()[0] in gap[0], gap   # only the last time is in the gap
