"""Event Viewer CSV/TXT exports: hand-written fixtures in four languages and three encodings."""

from __future__ import annotations

import io
import warnings
from pathlib import Path

import pandas as pd
import pytest

from exlab import read_events
from exlab.errors import (
    AssumptionWarning,
    DataLossWarning,
    ExlabError,
    UnsupportedFormat,
)
from exlab.events.cultures import CULTURES
from exlab.lab.event_exports import write_event_viewer_csv

FIXTURES = Path(__file__).parent / "fixtures"
MSG_2004_EN = ("Send connector Outbound to Office 365: Message delivery was not successful. The message with "
               "message ID <7f3a1c@contoso.com> was acknowledged with SMTP response 454 4.7.0 Failed to establish "
               "appropriate TLS channel: UntrustedRoot: Access Denied.")


def utc(text: str) -> pd.Timestamp:
    return pd.Timestamp(text, tz="UTC")


def read_quietly(path, **kwargs) -> pd.DataFrame:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return read_events(path, **kwargs)


def test_en_us_csv_reads_every_record_with_local_times_in_the_given_zone():
    frame = read_events(FIXTURES / "app-en-US.csv", tz="Europe/Warsaw")
    report = frame.attrs["parse_report"].files[0]
    assert (report.format, report.records_read, report.records_skipped) == ("event-viewer-csv", 3, 0)
    assert report.assumed_tz == "Europe/Warsaw"
    assert frame["event_id"].tolist() == [2004, 12014, 12023]
    assert frame["level"].tolist() == [4, 2, 3]
    assert frame["task"].tolist() == [2, 12, 0]          # "(2)", "(12)", "None"
    # CET (+01:00) on 2025-03-20; 12:00:07 AM is just after midnight
    assert frame["time_created"].tolist() == [utc("2025-03-20 13:15:04"), utc("2025-03-20 09:05:44"),
                                              utc("2025-02-28 23:00:07")]
    assert frame.loc[0, "message"] == MSG_2004_EN
    assert frame.loc[1, "message"] == (
        "Microsoft Exchange could not find a certificate that contains the domain name mail.contoso.com in the "
        "personal store on the local computer. Therefore, it is unable to support the STARTTLS SMTP verb for the "
        "connector \"Default Frontend EX01\" with a FQDN parameter of mail.contoso.com.\r\n"
        "If the connector's FQDN is not specified, the computer's FQDN is used.")
    # what these exports do not carry stays NA
    assert frame[["computer", "channel", "qualifiers", "keywords", "record_id", "record_number"]].isna().all().all()
    assert frame["data"].tolist() == [{}, {}, {}]
    assert frame["provider"].eq("MSExchangeTransport").all()


def test_without_a_time_zone_utc_is_assumed_and_said():
    with pytest.warns(AssumptionWarning, match="read as UTC"):
        frame = read_events(FIXTURES / "app-en-US.csv")
    report = frame.attrs["parse_report"].files[0]
    assert report.assumed_tz == "UTC"
    assert frame.loc[0, "time_created"] == utc("2025-03-20 14:15:04")


def test_polish_csv_with_bom_skips_and_counts_the_record_with_a_foreign_date():
    with pytest.warns(DataLossWarning, match="skipped 1 record"):
        frame = read_events(FIXTURES / "app-pl-PL-bom.csv", tz="Europe/Warsaw")
    report = frame.attrs["parse_report"].files[0]
    assert (report.records_read, report.records_skipped) == (3, 1)
    assert report.losses[0].where == "line 4"
    assert "'2025-03-20 14:05'" in report.losses[0].reason and "pl-PL" in report.losses[0].reason
    assert frame["event_id"].tolist() == [2004, 12014, 41]
    assert frame["level"].tolist() == [4, 2, 1]          # Informacje, Błąd, Krytyczny
    assert frame["task"].isna().tolist() == [True, True, False]   # named categories carry no number
    assert frame.loc[2, "task"] == 63
    assert frame.loc[1, "message"] == "Nie znaleziono certyfikatu zawierającego nazwę domeny mail.contoso.com."
    assert frame.loc[2, "time_created"] == utc("2025-03-19 22:59:59")


def test_polish_csv_in_the_ansi_code_page_reads_like_the_utf8_one():
    utf8 = read_quietly(FIXTURES / "app-pl-PL-bom.csv", tz="Europe/Warsaw")
    ansi = read_quietly(FIXTURES / "app-pl-PL-cp1250.csv", tz="Europe/Warsaw")
    pd.testing.assert_frame_equal(utf8.drop(columns="source"), ansi.drop(columns="source"))
    notes = ansi.attrs["parse_report"].files[0].warnings
    assert any("cp1250" in note for note in notes)


def test_german_tab_delimited_text_in_utf16():
    frame = read_events(FIXTURES / "app-de-DE.txt", tz="Europe/Berlin")
    report = frame.attrs["parse_report"].files[0]
    assert (report.format, report.records_read, report.records_skipped) == ("event-viewer-txt", 3, 0)
    assert frame["level"].tolist() == [4, 3, 2]
    assert frame["task"].tolist() == [2, 12, 0]          # "(2)", "(12)", "Keine"
    assert frame.loc[1, "message"] == ("Das Zertifikat für STARTTLS läuft bald ab.\r\nAntragsteller: "
                                       "CN=mail.contoso.com\r\nFingerabdruck: 3F2A9C01D4E8B7766A5C0B1E92D4F0A8C3B71E55")
    assert frame.loc[1, "time_created"] == utc("2025-03-20 08:01:02")


def test_french_csv():
    frame = read_events(FIXTURES / "app-fr-FR.csv", tz="Europe/Paris")
    assert frame["level"].tolist() == [4, 3]
    assert frame["task"].tolist() == [2, 0]             # "(2)", "Aucun"
    assert frame["time_created"].tolist() == [utc("2025-03-20 13:15:04"), utc("2025-03-19 07:00:00")]
    assert "454 4.7.0" in frame.loc[0, "message"]


def test_headers_in_a_language_exlab_does_not_know_are_read_by_their_place_and_said():
    with pytest.warns(AssumptionWarning) as caught:
        frame = read_events(FIXTURES / "app-es-ES.csv", tz="Europe/Madrid")
    said = [str(w.message) for w in caught if "a language exlab does not know" in str(w.message)]
    assert len(said) == 1 and "Nivel,Fecha y hora,Origen,Id. del evento,Categoría de la tarea" in said[0]
    assert all(language in said[0] for language in ("en-US", "pl-PL", "de-DE", "fr-FR"))
    row = frame.iloc[0]
    assert (row["provider"], row["event_id"], row["task"], row["message"]) == ("MSExchangeTransport", 2004, 2, "Mensaje.")
    assert pd.isna(row["level"]) and row["time_created"] == utc("2025-03-20 13:15:04")
    assert frame.attrs["parse_report"].files[0].format == "event-viewer-csv"


def test_a_tab_export_in_an_unknown_language_reads_every_record_with_its_dates_order_from_the_values():
    header = "Livello\tData e ora\tOrigine\tID evento\tCategoria attività"
    lines = ["Informazioni\t20/03/2025 14:15:04\tMSExchangeTransport\t2004\t(2)\t454 4.7.0 UntrustedRoot",
             "Avviso\t05/03/2025 09:00:00\tMSExchangeTransport\t12023\tNessuna\t\"Riga uno\r\nriga due\"",
             "Errore\t04/03/2025 23:59:59\tMSExchange Common\t106\t(1)\t"]
    stream = io.BytesIO(("\r\n".join([header, *lines]) + "\r\n").encode("utf-8-sig"))
    frame = read_quietly(stream, tz="Europe/Rome")
    report = frame.attrs["parse_report"].files[0]
    assert (report.format, report.records_read, report.records_skipped) == ("event-viewer-txt", 3, 0)
    assert frame["event_id"].tolist() == [2004, 12023, 106] and frame["level"].isna().all()
    assert frame["time_created"].tolist() == [utc("2025-03-20 13:15:04"), utc("2025-03-05 08:00:00"),
                                              utc("2025-03-04 22:59:59")]      # day first, as 20/03 says
    assert frame["task"].tolist()[::2] == [2, 1] and pd.isna(frame["task"].iloc[1])    # "Nessuna" is not known
    assert frame.loc[1, "message"] == "Riga uno\r\nriga due"


def test_an_unknown_language_in_an_ansi_code_page_says_the_code_page_is_a_guess():
    text = ("Nivel,Fecha y hora,Origen,Id. del evento,Categoría de la tarea\r\n"
            "Información,20/03/2025 14:15:04,MSExchangeTransport,2004,(2),Conexión rechazada\r\n")
    with pytest.warns(AssumptionWarning, match="read in the ANSI code page cp1252, a guess") as caught:
        frame = read_events(io.BytesIO(text.encode("cp1252")), tz="Europe/Madrid")
    assert frame.loc[0, "message"] == "Conexión rechazada" and frame.loc[0, "event_id"] == 2004
    assert sum("a language exlab does not know" in str(w.message) for w in caught) == 1


def test_empty_file_is_unsupported():
    with pytest.raises(UnsupportedFormat, match="empty"):
        read_events(io.BytesIO(b""))


def csv_stream(*records: str, header: str = "Level,Date and Time,Source,Event ID,Task Category") -> io.BytesIO:
    return io.BytesIO(("\r\n".join((header, *records)) + "\r\n").encode("utf-8"))


def test_malformed_records_are_skipped_and_counted_one_by_one():
    stream = csv_stream(
        "Information,3/20/2025 2:15:04 PM,MSExchangeTransport,2004,(2),ok",
        "Information,3/20/2025 2:15:05 PM,MSExchangeTransport",                 # too few columns
        "Information,3/20/2025 2:15:06 PM,MSExchangeTransport,20x4,(2),bad id",  # not a number
        "Information,13/20/2025 2:15:07 PM,MSExchangeTransport,2004,(2),bad month",
        "Information,3/20/2025 14:15:08,MSExchangeTransport,2004,(2),no AM/PM",
        "",
        "Information,3/20/2025 2:15:09 PM,MSExchangeTransport,2004,(2),ok again",
    )
    with pytest.warns(DataLossWarning, match="skipped 4 record"):
        frame = read_events(stream, tz="UTC")
    report = frame.attrs["parse_report"].files[0]
    assert frame["message"].tolist() == ["ok", "ok again"]
    assert [loss.where for loss in report.losses] == ["line 3", "line 4", "line 5", "line 6"]
    assert report.records_read == 2


def test_unknown_level_name_keeps_the_record_with_level_na():
    frame = read_quietly(csv_stream("Audit Success,3/20/2025 2:15:04 PM,Security,4624,Logon,x"), tz="UTC")
    assert len(frame) == 1 and pd.isna(frame.loc[0, "level"])
    assert any("Audit Success" in note for note in frame.attrs["parse_report"].files[0].warnings)


def test_daylight_saving_changes_keep_every_record_and_say_so_once():
    header = "Poziom,Data i godzina,Źródło,Identyfikator zdarzenia,Kategoria zadania"
    stream = csv_stream("Informacje,26.10.2025 02:30:00,P,1,Brak,repeated hour",
                        "Informacje,30.03.2025 02:30:00,P,1,Brak,hour that never was",
                        "Informacje,30.03.2025 02:45:00,P,1,Brak,hour that never was again",
                        "Informacje,30.03.2025 03:30:00,P,1,Brak,after the change", header=header)
    with pytest.warns(AssumptionWarning) as caught:
        frame = read_events(stream, tz="Europe/Warsaw")
    report = frame.attrs["parse_report"].files[0]
    # the repeated hour reads as its first occurrence (still CEST, +02:00); the hour that never was
    # is kept, read with the offset before the change (CET, +01:00), as the certificate readers do
    assert frame["time_created"].tolist() == [utc("2025-10-26 00:30:00"), utc("2025-03-30 01:30:00"),
                                              utc("2025-03-30 01:45:00"), utc("2025-03-30 01:30:00")]
    assert report.records_skipped == 0 and report.records_read == 4
    gap = [str(w.message) for w in caught if "does not exist in Europe/Warsaw" in str(w.message)]
    assert len(gap) == 1 and "2025-03-30 02:30:00" in gap[0] and "not printed in Europe/Warsaw" in gap[0]
    assert sum("2025-10-26 02:30:00 comes twice in Europe/Warsaw" in note for note in report.warnings) == 1


def test_filters_return_exactly_the_matching_subset():
    path = FIXTURES / "app-en-US.csv"
    everything = read_events(path, tz="Europe/Warsaw")
    by_id = read_events(path, tz="Europe/Warsaw", event_ids=[12014, 12023])
    assert by_id["event_id"].tolist() == [12014, 12023]
    since = read_events(path, tz="Europe/Warsaw", start="2025-03-20 09:05:44")
    expected = everything[everything["time_created"] >= utc("2025-03-20 09:05:44")].reset_index(drop=True)
    pd.testing.assert_frame_equal(since, expected)
    assert read_events(path, tz="Europe/Warsaw", providers=["other"]).empty


def test_an_unknown_time_zone_is_an_error_naming_it():
    with pytest.raises(ExlabError, match="Mars/Olympus"):
        read_events(FIXTURES / "app-en-US.csv", tz="Mars/Olympus")


# --------------------------------------------------------------------------- day-first cultures

def _read_warned(stream, **kwargs) -> tuple[pd.DataFrame, list[str]]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        frame = read_events(stream, **kwargs)
    return frame, [w.message.located() for w in caught if issubclass(w.category, AssumptionWarning)
                   and "day/month" in str(w.message)]


def test_an_en_gb_csv_has_english_headers_and_day_first_dates():
    stream = csv_stream("Warning,05/03/2025 14:15:04,MSExchangeTransport,2004,(2),first",
                        "Error,13/03/2025 09:01:02,MSExchangeTransport,12014,(12),second")
    frame, said = _read_warned(stream, tz="Europe/London")
    report = frame.attrs["parse_report"].files[0]
    assert (report.records_read, report.records_skipped) == (2, 0)
    assert frame["time_created"].tolist() == [utc("2025-03-05 14:15:04"), utc("2025-03-13 09:01:02")]
    assert said == []    # the 13th settles it
    assert report.warnings[0] == ("day/month order: day first, settled by the values "
                                  "('13/03/2025 09:01:02' has a day above 12)")


def test_an_en_au_csv_with_no_day_above_12_is_read_day_first_from_its_am_pm_and_said():
    stream = csv_stream("Warning,5/03/2025 2:15:04 pm,MSExchangeTransport,2004,(2),x")
    frame, said = _read_warned(stream, tz="Australia/Sydney")
    assert frame["time_created"].tolist() == [utc("2025-03-05 03:15:04")]
    assert len(said) == 1 and said[0].startswith("<stream>: the day/month order of its dates was inferred from a "
                                                 "hint only: read day first")


def test_an_ambiguous_csv_warns_with_both_readings_and_the_culture_settles_it(tmp_path):
    path = tmp_path / "Application.csv"
    path.write_bytes(csv_stream("Warning,05/03/2025 14:15:04,MSExchangeTransport,2004,(2),x").getvalue())
    frame, said = _read_warned(path, tz="UTC")
    assert len(said) == 1 and said[0].startswith(f"{path}: the day/month order of its dates is ambiguous")
    assert "05/03/2025 14:15:04 = 3 May 2025 (month first) or 5 March 2025 (day first)" in said[0]
    assert "read day first as en-GB writes" in said[0] and "--culture" in said[0]
    frame, said = _read_warned(path, tz="UTC", culture="invariant")
    assert frame["time_created"].tolist() == [utc("2025-05-03 14:15:04")] and said == []
    frame, said = _read_warned(path, tz="UTC", culture="en-GB")
    assert frame["time_created"].tolist() == [utc("2025-03-05 14:15:04")] and said == []


def test_a_culture_the_dates_contradict_is_overruled_by_them_with_a_warning_naming_the_value(tmp_path):
    # an export made on another machine: its values settle the order, the culture given does not hold
    path = tmp_path / "Application.csv"
    path.write_bytes(csv_stream("Warning,13/03/2025 14:15:04,MSExchangeTransport,2004,(2),x").getvalue())
    frame, said = _read_warned(path, tz="UTC", culture="en-US")
    assert frame["time_created"].tolist() == [utc("2025-03-13 14:15:04")]
    assert said == [f"{path}: the day/month order of its dates contradicts the culture given: culture=en-US given, but "
                    "'13/03/2025 14:15:04' can only be read day first (en-GB, en-IE, fr-FR, fr-BE, es-ES, it-IT, pt-BR); "
                    "read day first as its values say (was it exported on another machine?)"]
    with pytest.raises(ValueError, match="culture must be one of"):
        read_events(path, culture="en-XX")


@pytest.mark.parametrize("culture", sorted(CULTURES))
def test_lab_event_viewer_csv_in_every_culture_reads_back_with_that_culture(culture):
    rows = [{"time_created": int(utc(moment).value), "provider": "MSExchangeTransport", "event_id": 2004,
             "level": 3, "task": 2, "message": "x"} for moment in ("2025-03-05 13:15:04", "2025-11-02 23:59:59")]
    out = io.BytesIO()
    write_event_viewer_csv(out, rows, culture=culture, tz="Europe/Warsaw")
    frame, said = _read_warned(io.BytesIO(out.getvalue()), tz="Europe/Warsaw", culture=culture)
    assert frame["time_created"].tolist() == [utc("2025-03-05 13:15:04"), utc("2025-11-02 23:59:59")]
    assert said == [] and frame.attrs["parse_report"].files[0].records_skipped == 0


def test_a_line_over_the_cap_is_read_through_counted_and_the_next_records_read(monkeypatch):
    monkeypatch.setattr("exlab.limits.MAX_FIELD", 1024)
    stream = csv_stream(
        "Information,3/20/2025 2:15:04 PM,MSExchangeTransport,2004,(2),ok",
        "Information,3/20/2025 2:15:05 PM,MSExchangeTransport,2004,(2)," + "x" * 5000,
        "Information,3/20/2025 2:15:09 PM,MSExchangeTransport,2004,(2),ok again",
    )
    with pytest.warns(DataLossWarning, match="line 3: skipped 1 record"):
        frame = read_events(stream, tz="UTC")
    report = frame.attrs["parse_report"].files[0]
    assert frame["message"].tolist() == ["ok", "ok again"]
    assert [(loss.where, loss.reason) for loss in report.losses] == [
        ("line 3", "a line longer than 1 KiB (read through, not held)")]


# --------------------------------------------------------------------------- the hour the clocks go back over

# America/Chicago, 2025-11-02: 1:00-1:59 comes twice (CDT, then CST). UTC times of one log, newest first as
# Event Viewer saves its default view: two events of the second pass (1:40, 1:10 CST), two of the first
# (1:50, 1:20 CDT) and one before the hour.
FALL_BACK = ("2025-11-02 07:40:00", "2025-11-02 07:10:00", "2025-11-02 06:50:00", "2025-11-02 06:20:00",
             "2025-11-02 04:20:00")


def fall_back_rows(times=FALL_BACK, event_ids=(2004,)) -> list[dict]:
    return [{"time_created": int(utc(when).value), "provider": "MSExchangeTransport",
             "event_id": event_ids[n % len(event_ids)], "qualifiers": 16388, "level": 4, "task": 2,
             "record_id": 1000 - n, "computer": "EX01.contoso.com", "channel": "Application",
             "keywords": "0x80000000000000", "data": {"%1": "Outbound to Office 365", "%2": f"<m{n}@contoso.com>"},
             "message": f"event {n}"} for n, when in enumerate(times)]


def _clock_warnings(caught) -> list[str]:
    return [w.message.located() for w in caught if "comes twice" in str(w.message)]


@pytest.mark.parametrize("times", [FALL_BACK, FALL_BACK[::-1]], ids=["newest first", "oldest first"])
def test_the_order_of_the_records_tells_the_two_passes_through_the_repeated_hour(tmp_path, times):
    path = tmp_path / "Application.csv"
    write_event_viewer_csv(path, fall_back_rows(times, event_ids=(2004, 12014)), culture="en-US",
                           tz="America/Chicago")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        frame = read_events(path, tz="America/Chicago", culture="en-US")
        only_2004 = read_events(path, tz="America/Chicago", culture="en-US", event_ids=[2004])
    assert frame["time_created"].tolist() == [utc(when) for when in times]
    assert _clock_warnings(caught) == []          # the order settled every one: said, not warned
    local = "01:40:00" if times == FALL_BACK else "01:20:00"        # the first in the file
    assert (f"the local time 2025-11-02 {local} comes twice in America/Chicago (its clocks go back over that hour): "
            "4 record(s) at such times read as the first or the second pass as the order of the file tells"
            in frame.attrs["parse_report"].files[0].warnings)
    # a filter keeps the times the whole file's order gives
    assert only_2004["time_created"].tolist() == frame["time_created"][frame["event_id"] == 2004].tolist()


def test_a_csv_and_an_xml_export_of_the_same_log_over_the_repeated_hour_are_one_log(tmp_path):
    from exlab.case import dedupe_events
    from exlab.lab.event_exports import write_wevtutil_xml

    rows = fall_back_rows()
    write_event_viewer_csv(tmp_path / "Application.csv", rows, culture="en-US", tz="America/Chicago")
    write_wevtutil_xml(tmp_path / "Application.xml", rows)
    both = read_quietly([tmp_path / "Application.xml", tmp_path / "Application.csv"], tz="America/Chicago",
                        culture="en-US")
    kept = dedupe_events(both)
    assert len(kept) == 5 and set(kept["source"]) == {str(tmp_path / "Application.xml")}


@pytest.mark.parametrize("times, first, count", [
    (FALL_BACK[1:2], "01:10:00", 1),                               # a lone record: no neighbours to tell
    (("2025-11-02 06:20:00", "2025-11-02 09:00:00", "2025-11-02 04:20:00", "2025-11-02 07:40:00"), "01:20:00", 2),
], ids=["lone record", "records in no order"])
def test_where_the_order_cannot_tell_the_pass_the_first_is_read_and_warned_once_at_the_first_line(
        tmp_path, times, first, count):
    path = tmp_path / "Application.csv"
    write_event_viewer_csv(path, fall_back_rows(times), culture="en-US", tz="America/Chicago")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        frame = read_events(path, tz="America/Chicago", culture="en-US")
    first_pass = [utc(when) - pd.Timedelta(hours=1) if when in FALL_BACK[:2] else utc(when) for when in times]
    assert frame["time_created"].tolist() == first_pass            # the second pass's events an hour early
    assert [w.category for w in caught if "comes twice" in str(w.message)] == [AssumptionWarning]
    assert _clock_warnings(caught) == [
        f"{path} line 2: the local time 2025-11-02 {first} comes twice in America/Chicago (its clocks go back over "
        f"that hour), and the order of the file's records does not tell which pass: {count} record(s) at such "
        "times read as the first; each may be the second, an hour later"]
