"""Get-WinEvent | Export-Csv: the MPEX02 records of the real-exports README, as Windows PowerShell 5.1
and PowerShell 7 write them (hand-written here in those shapes)."""

from __future__ import annotations

import io
import re
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
    # no day above 12: only the server's culture tells 6/2/2025 is 2 June (see the culture tests below)
    frame = read_quiet(windows_powershell(MPEX02), tz="America/Denver", culture="en-US")
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
    frame = read_quiet(("\ufeff" + text).encode("utf-16-le"), tz="America/Denver", culture="en-US")
    assert frame["event_id"].tolist() == [2004, 12014]
    assert frame["data"].iloc[0]["%2"] == MESSAGE_ID


def test_ambiguous_day_and_month_are_read_from_how_the_culture_writes_them_and_said():
    # en-AU writes d/MM/yyyy and lower-case am/pm: 2/06/2025 is 2 June, not 6 February; only a hint, so warned
    # (as for Event Viewer's CSV)
    lines = [MPEX02[0].replace("6/2/2025 3:16:03 AM", "2/06/2025 3:16:03 am")]
    with pytest.warns(AssumptionWarning, match="inferred from a hint only: read day first"):
        frame = read_events(io.BytesIO(windows_powershell(lines)), tz="Australia/Perth")
    assert frame["time_created"].tolist() == [pd.Timestamp("2025-06-01 19:16:03", tz="UTC")]


def test_records_without_catalogued_text_are_said_to_lack_data():
    lines = [record("The MS DTC service is stopping.", 4111, 16384, 4, 1, 1250, "10/6/2021 3:44:43 PM",
                    provider="Microsoft-Windows-MSDTC", task_name="SVC")] * 2
    with pytest.warns(DataLossWarning, match="2 record") as caught:
        frame = read_events(io.BytesIO(windows_powershell(lines)), tz="America/Los_Angeles", culture="en-US")
    assert len([w for w in caught if issubclass(w.category, DataLossWarning)]) == 1
    assert frame["data"].tolist() == [{}, {}]
    assert frame["time_created"].iloc[0] == pd.Timestamp("2021-10-06 22:44:43", tz="UTC")
    assert any("2 record(s) without data" in note for note in frame.attrs["parse_report"].files[0].warnings)


def test_a_damaged_record_is_skipped_counted_and_warned_once():
    lines = [MPEX02[0].replace('"2004"', '"20x4"'), MPEX02[1].replace("6/2/2025 12:16:03 AM", "6/31/2025 12:16:03 AM"),
             MPEX02[0]]
    with pytest.warns(DataLossWarning) as caught:
        frame = read_events(io.BytesIO(windows_powershell(lines)), tz="America/Denver", culture="en-US")
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
        frame = read_events(io.BytesIO(windows_powershell(lines)), tz="America/Denver", culture="en-US")
    report = frame.attrs["parse_report"].files[0]
    assert frame["record_id"].tolist() == [771190]
    assert [(loss.where, loss.reason) for loss in report.losses] == [
        ("line 3", "a line longer than 1 KiB (read through, not held)")]


def test_a_time_in_the_hour_the_clocks_skip_is_kept_and_warned_once():
    # 3/8/2026 2:16 and 2:40 AM do not exist in America/Denver (clocks go from 2:00 to 3:00): likely the wrong tz
    lines = [record(MESSAGE_2004, 2004, 16388, 4, 2, 771190 + n, when)
             for n, when in enumerate(("3/8/2026 2:16:03 AM", "3/8/2026 2:40:00 AM", "3/8/2026 3:16:03 AM"))]
    with pytest.warns(AssumptionWarning) as caught:
        frame = read_events(io.BytesIO(windows_powershell(lines)), tz="America/Denver", culture="en-US")
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


# --------------------------------------------------------------------------- the culture given (culture=, --culture)

def lab_export(times: list[str], culture: str, tz: str, *, edition: str = "5.1") -> bytes:
    """Get-WinEvent | Export-Csv of 2004 events at ``times`` (UTC) as the lab writes it: the export's order."""
    from exlab.lab.event_exports import write_winevent_csv

    rows = [{"time_created": int(pd.Timestamp(when, tz="UTC").value), "provider": "MSExchangeTransport",
             "event_id": 2004, "qualifiers": 16388, "level": 4, "task": 2, "record_id": 771190 - n,
             "computer": "VAEX01.vanarsdell.com.au", "channel": "Application", "keywords": "0x80000000000000",
             "data": {}, "message": MESSAGE_2004} for n, when in enumerate(times)]
    out = io.BytesIO()
    write_winevent_csv(out, rows, edition=edition, culture=culture, tz=tz)
    return out.getvalue()


def windows_7_en_au(data: bytes) -> bytes:
    """en-AU as Windows 7 / Server 2008 R2 wrote it: AM and PM in capitals (exlab.cultures.OLDER_FORMATS)."""
    return re.sub(rb'("\d{1,2}/\d{2}/\d{4} \d{1,2}:\d{2}:\d{2}) (am|pm)"', lambda m: m[1] + b" " + m[2].upper() + b'"',
                  data)


@pytest.mark.parametrize("culture, tz, shape", [
    ("en-GB", "Europe/London", lambda data: data),        # 05/03/2025 14:15:04: en-GB, or invariant month first
    ("en-AU", "Australia/Perth", windows_7_en_au),       # 4/11/2025 10:00:00 AM: en-AU of old, or en-US
])
def test_the_culture_given_settles_the_day_month_order_no_value_settles(culture, tz, shape):
    times = ["2025-03-05 14:15:04", "2025-11-04 02:00:00"]
    data = shape(lab_export(times, culture, tz))
    frame = read_quiet(data, tz=tz, culture=culture)        # nothing to warn of: the culture was given
    assert frame["time_created"].tolist() == [pd.Timestamp(when, tz="UTC") for when in times]
    notes = frame.attrs["parse_report"].files[0].warnings
    assert f"day/month order: day first, given (culture={culture} given)" in notes


def test_values_that_contradict_the_culture_given_overrule_it_with_a_warning():
    data = lab_export(["2025-03-20 14:15:04", "2025-03-05 14:15:04"], "en-GB", "Europe/London")
    with pytest.warns(AssumptionWarning) as caught:
        frame = read_events(io.BytesIO(data), tz="Europe/London", culture="en-US")
    assert frame["time_created"].tolist() == [pd.Timestamp("2025-03-20 14:15:04", tz="UTC"),
                                              pd.Timestamp("2025-03-05 14:15:04", tz="UTC")]
    said = [str(w.message) for w in caught if "culture given" in str(w.message)]
    assert said == ["the day/month order of its dates contradicts the culture given: culture=en-US given, but "
                    "'20/03/2025 14:15:04' can only be read day first (en-GB, en-IE, fr-FR, fr-BE, es-ES, it-IT, "
                    "pt-BR); read day first as its values say (was it exported on another machine?)"]


# --------------------------------------------------------------------------- the hour the clocks go back over

@pytest.mark.parametrize("tz, times", [
    # America/Chicago 2025-11-02, newest first as Get-WinEvent lists: 1:40 and 1:10 CST, then 1:50 and 1:20 CDT
    ("America/Chicago", ["2025-11-02 07:40:00", "2025-11-02 07:10:00", "2025-11-02 06:50:00", "2025-11-02 06:20:00",
                         "2025-11-02 04:20:00"]),
    # Lord Howe Island 2025-04-06, oldest first (Get-WinEvent -Oldest): 1:30-1:59 comes twice, half an hour apart
    ("Australia/Lord_Howe", ["2025-04-05 14:20:00", "2025-04-05 14:40:00", "2025-04-05 14:50:00",
                             "2025-04-05 15:10:00", "2025-04-05 15:25:00"]),
], ids=["Chicago newest first", "Lord Howe oldest first"])
def test_the_order_of_the_records_tells_the_passes_through_the_repeated_hour(tz, times):
    frame = read_quiet(lab_export(times, "en-US", tz, edition="7"), tz=tz, culture="en-US")
    assert frame["time_created"].tolist() == [pd.Timestamp(when, tz="UTC") for when in times]
    notes = frame.attrs["parse_report"].files[0].warnings
    assert sum("read as the first or the second pass as the order of the file tells" in note for note in notes) == 1


def test_a_lone_record_in_the_repeated_hour_is_read_as_the_first_pass_and_warned():
    data = lab_export(["2025-11-02 07:10:00"], "en-US", "America/Chicago")          # 1:10 CST
    with pytest.warns(AssumptionWarning, match="does not tell which pass") as caught:
        frame = read_events(io.BytesIO(data), tz="America/Chicago", culture="en-US")
    assert frame["time_created"].tolist() == [pd.Timestamp("2025-11-02 06:10:00", tz="UTC")]   # read as CDT
    assert [w.message.located() for w in caught if "comes twice" in str(w.message)] == [
        "<stream> line 3: the local time 2025-11-02 01:10:00 comes twice in America/Chicago (its clocks go back over "
        "that hour), and the order of the file's records does not tell which pass: 1 record(s) at such times read "
        "as the first; each may be the second, an hour later"]
