"""The one table of Windows date formats: what each culture writes, strict parsing, edge cases."""

from __future__ import annotations

from datetime import datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from exlab.cultures import DateStyle
from exlab.cultures import DATE_FORMATS, DateFormat
from exlab.events.cultures import CULTURES as VIEWER_CULTURES

# What Windows writes for DateTime.ToString() (short date + long time) in each culture.
WRITTEN = {
    # name:      (2025-03-20 14:15:04,      2025-03-05 09:01:02)
    "en-US": ("3/20/2025 2:15:04 PM", "3/5/2025 9:01:02 AM"),
    "en-AU": ("20/03/2025 2:15:04 pm", "5/03/2025 9:01:02 am"),
    "en-NZ": ("20/03/2025 2:15:04 p.m.", "5/03/2025 9:01:02 a.m."),
    "en-GB": ("20/03/2025 14:15:04", "05/03/2025 09:01:02"),
    "en-IE": ("20/03/2025 14:15:04", "05/03/2025 09:01:02"),
    "en-IN": ("20-03-2025 14:15:04", "05-03-2025 09:01:02"),
    "fr-FR": ("20/03/2025 14:15:04", "05/03/2025 09:01:02"),
    "fr-BE": ("20/03/2025 14:15:04", "5/03/2025 09:01:02"),
    "es-ES": ("20/03/2025 14:15:04", "05/03/2025 9:01:02"),
    "it-IT": ("20/03/2025 14:15:04", "05/03/2025 09:01:02"),
    "pt-BR": ("20/03/2025 14:15:04", "05/03/2025 09:01:02"),
    "de-DE": ("20.03.2025 14:15:04", "05.03.2025 09:01:02"),
    "de-AT": ("20.03.2025 14:15:04", "05.03.2025 09:01:02"),
    "de-CH": ("20.03.2025 14:15:04", "05.03.2025 09:01:02"),
    "pl-PL": ("20.03.2025 14:15:04", "05.03.2025 09:01:02"),
    "ru-RU": ("20.03.2025 14:15:04", "05.03.2025 9:01:02"),
    "tr-TR": ("20.03.2025 14:15:04", "05.03.2025 09:01:02"),
    "nb-NO": ("20.03.2025 14:15:04", "05.03.2025 09:01:02"),
    "nl-NL": ("20-3-2025 14:15:04", "5-3-2025 09:01:02"),
    "da-DK": ("20-03-2025 14:15:04", "05-03-2025 09:01:02"),
    "ja-JP": ("2025/03/20 14:15:04", "2025/03/05 9:01:02"),
    "sv-SE": ("2025-03-20 14:15:04", "2025-03-05 09:01:02"),
    "en-CA": ("2025-03-20 2:15:04 p.m.", "2025-03-05 9:01:02 a.m."),
    "invariant": ("03/20/2025 14:15:04", "03/05/2025 09:01:02"),
}
AFTERNOON, MORNING = datetime(2025, 3, 20, 14, 15, 4), datetime(2025, 3, 5, 9, 1, 2)
NAMES = sorted(DATE_FORMATS)

moments = st.datetimes(min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31, 23, 59, 59)).map(
    lambda moment: moment.replace(microsecond=0))


def _shape(date_format: DateFormat) -> tuple:
    """What tells formats apart whatever the values: separator, clock, where the year is."""
    return date_format.separator, date_format.hour12, date_format.order.index("Y")


def test_the_table_holds_every_culture_of_both_readers():
    assert set(DATE_FORMATS) == set(WRITTEN)
    for name, culture in VIEWER_CULTURES.items():
        assert culture.date is DATE_FORMATS[name]


@pytest.mark.parametrize("name", NAMES)
def test_each_culture_writes_what_windows_writes_and_reads_it_back(name):
    afternoon, morning = WRITTEN[name]
    date_format = DATE_FORMATS[name]
    assert date_format.format(AFTERNOON) == afternoon == date_format.example
    assert date_format.format(MORNING) == morning
    assert date_format.format((2025, 3, 5, 9, 1, 2)) == morning
    assert date_format.parse(afternoon) == AFTERNOON
    assert date_format.parse(morning) == MORNING


@pytest.mark.parametrize("name", NAMES)
@given(moment=moments)
def test_every_datetime_round_trips(name, moment):
    date_format = DATE_FORMATS[name]
    text = date_format.format(moment)
    assert date_format.parse(text) == moment
    assert date_format.format((moment.year, moment.month, moment.day, moment.hour, moment.minute,
                               moment.second)) == text


@pytest.mark.parametrize("writer", NAMES)
@given(moment=moments)
def test_strict_parse_refuses_the_shapes_of_other_cultures(writer, moment):
    text = DATE_FORMATS[writer].format(moment)
    swapped = moment.replace(month=moment.day, day=moment.month) if moment.day <= 12 else None
    for reader in NAMES:
        date_format = DATE_FORMATS[reader]
        if _shape(date_format) != _shape(DATE_FORMATS[writer]):
            assert date_format.parse(text) is None, (writer, reader, text)
        elif date_format.order != DATE_FORMATS[writer].order:
            # same shape, day and month swapped (en-GB and invariant, en-US and en-AU): only
            # a day above 12 tells them apart, which is what DateStyle.detect looks for
            assert date_format.parse(text) in (None, swapped), (writer, reader, text)
            if moment.day > 12:
                assert date_format.parse(text) is None
        else:
            assert date_format.parse(text) == moment


def test_shapes_that_only_another_culture_writes_are_refused():
    assert DATE_FORMATS["en-US"].parse("20/03/2025 14:15:04") is None         # 24-hour clock
    assert DATE_FORMATS["en-GB"].parse("20/03/2025 2:15:04 pm") is None       # 12-hour clock
    assert DATE_FORMATS["en-GB"].parse("20.03.2025 14:15:04") is None         # separator
    assert DATE_FORMATS["de-DE"].parse("2025.03.20 14:15:04") is None         # year first
    assert DATE_FORMATS["sv-SE"].parse("20-03-2025 14:15:04") is None         # year last
    assert DATE_FORMATS["pl-PL"].parse("20.03.2025 14:15:04 PM") is None      # a designator after 24 h
    assert DATE_FORMATS["en-US"].parse("3/20/2025 2:15:04 XM") is None        # not a designator
    assert DATE_FORMATS["en-US"].parse("3/20/2025 2:15:04 PM trailing") is None
    assert DATE_FORMATS["en-US"].parse("3/20/2025") is None                   # no time
    assert DATE_FORMATS["de-DE"].parse("20.03.202514:15:04") is None          # no space before the time
    assert DATE_FORMATS["en-US"].parse("") is None
    assert DATE_FORMATS["de-DE"].parse("20.03.2025 14:15") is None            # long time has seconds
    assert DATE_FORMATS["de-DE"].parse("20.03.2025 14:15:04.123") is None
    assert DATE_FORMATS["de-DE"].parse("٢٠.٠٣.٢٠٢٥ 14:15:04") is None         # digits Windows does not write


@pytest.mark.parametrize(("hour", "en_us", "en_au"), [
    (0, "12:00:00 AM", "12:00:00 am"),
    (1, "1:00:00 AM", "1:00:00 am"),
    (11, "11:00:00 AM", "11:00:00 am"),
    (12, "12:00:00 PM", "12:00:00 pm"),
    (13, "1:00:00 PM", "1:00:00 pm"),
    (23, "11:00:00 PM", "11:00:00 pm"),
])
def test_twelve_o_clock_is_12_am_at_midnight_and_12_pm_at_noon(hour, en_us, en_au):
    moment = datetime(2025, 3, 20, hour)
    assert DATE_FORMATS["en-US"].format(moment) == f"3/20/2025 {en_us}"
    assert DATE_FORMATS["en-AU"].format(moment) == f"20/03/2025 {en_au}"
    assert DATE_FORMATS["en-US"].parse(f"3/20/2025 {en_us}") == moment
    assert DATE_FORMATS["en-AU"].parse(f"20/03/2025 {en_au}") == moment


@pytest.mark.parametrize("clock", ["0:30:00 AM", "0:30:00 PM", "13:30:00 PM", "13:30:00 AM", "12:60:00 PM",
                                   "12:30:60 PM", "2:15:04"])
def test_a_twelve_hour_clock_refuses_hours_and_times_it_does_not_have(clock):
    assert DATE_FORMATS["en-US"].parse(f"3/20/2025 {clock}") is None


@pytest.mark.parametrize("clock", ["24:00:00", "23:60:00", "23:59:60", "12:00:00 PM"])
def test_a_twenty_four_hour_clock_refuses_hours_and_times_it_does_not_have(clock):
    assert DATE_FORMATS["de-DE"].parse(f"20.03.2025 {clock}") is None


@pytest.mark.parametrize("name", NAMES)
def test_february_29_exists_in_leap_years_only(name):
    date_format = DATE_FORMATS[name]
    for year, leap in ((2024, True), (2025, False), (2000, True), (1900, False), (2100, False)):
        text = date_format.format((year, 2, 29, 10, 0, 0))   # format does not check; parse does
        assert date_format.parse(text) == (datetime(year, 2, 29, 10) if leap else None), text
    assert date_format.parse(date_format.format((2025, 2, 28, 10, 0, 0))) == datetime(2025, 2, 28, 10)


@pytest.mark.parametrize(("fields", "why"), [
    ((2025, 13, 1, 10, 0, 0), "month 13"),
    ((2025, 0, 1, 10, 0, 0), "month 0"),
    ((2025, 4, 31, 10, 0, 0), "April 31"),
    ((2025, 3, 0, 10, 0, 0), "day 0"),
    ((0, 3, 20, 10, 0, 0), "year 0"),
])
@pytest.mark.parametrize("name", NAMES)
def test_dates_that_do_not_exist_are_refused(name, fields, why):
    assert DATE_FORMATS[name].parse(DATE_FORMATS[name].format(fields)) is None, why


def test_what_users_and_windows_versions_vary_is_read():
    assert DATE_FORMATS["pl-PL"].parse("5.3.2025 9:01:02") == MORNING                 # no leading zeros
    assert DATE_FORMATS["de-DE"].parse("20.03.2025 0:00:00") == datetime(2025, 3, 20)
    assert DATE_FORMATS["ja-JP"].parse("2025/03/05 9:01:02") == MORNING               # ja-JP's own H:mm:ss
    assert DATE_FORMATS["en-US"].parse("03/05/2025 09:01:02 am") == MORNING           # zeros, lower case
    assert DATE_FORMATS["en-AU"].parse("05/03/2025 09:01:02 a. m.") == MORNING        # Spanish-style designator
    assert DATE_FORMATS["en-US"].parse("3/5/2025 9:01:02 A.M.") == MORNING
    assert DATE_FORMATS["en-US"].parse(" 3/5/2025  9:01:02AM\r\n") == MORNING          # spaces
    assert DATE_FORMATS["de-DE"].parse("\u200e05.03.2025\u200f \u200e09:01:02") == MORNING   # bidi marks
    assert DATE_FORMATS["de-DE"].parse("14.03.25 09:12:05") == datetime(25, 3, 14, 9, 12, 5)  # the year 25


def test_a_date_format_must_be_coherent():
    with pytest.raises(ValueError, match="order must be one of MDY, DMY, YMD"):
        DateFormat("DYM", "/", pad_day=True, pad_month=True, hour12=False)
    with pytest.raises(ValueError, match="12-hour clock needs its AM and PM designators"):
        DateFormat("MDY", "/", pad_day=False, pad_month=False, hour12=True, am="AM")
    with pytest.raises(ValueError, match="24-hour clock has no AM and PM designators"):
        DateFormat("DMY", ".", pad_day=True, pad_month=True, hour12=False, am="AM", pm="PM")


@pytest.mark.parametrize("name", NAMES)
@given(moment=moments)
def test_a_certificate_export_style_reads_every_culture_of_its_order(name, moment):
    date_format = DATE_FORMATS[name]
    style = DateStyle.detect([], culture=name)
    assert style.order == date_format.order
    assert style.parse(date_format.format(moment)) == moment


def test_a_certificate_export_style_refuses_what_no_culture_of_its_order_writes():
    with pytest.raises(ValueError, match=r"is not a MDY date and time as en-US, invariant write them"):
        DateStyle("MDY", "culture", "given").parse("03.20.2025 14:15:04")
    with pytest.raises(ValueError, match="is not a YMD date and time as ja-JP, sv-SE, en-CA write them"):
        DateStyle("YMD", "culture", "given").parse("2025/03/20 2:15:04 PM")
    assert DateStyle("YMD", "culture", "given").parse("2025-03-20 2:15:04 p.m.") == AFTERNOON   # en-CA


def test_a_sample_case_writes_day_first_dates_with_days_of_12_and_less_and_reads_back():
    import json
    import re
    import warnings

    import exlab
    from tests.conftest import SAMPLES

    day_first = {}
    for path in sorted(SAMPLES.glob("*/truth.json")):
        truth = json.loads(path.read_text(encoding="utf-8"))
        if DATE_FORMATS[truth["culture"]].order == "DMY" and DATE_FORMATS[truth["culture"]].separator == "/":
            day_first[path.parent] = truth
    assert day_first, "no sample case writes '/' dates day first"
    for folder, truth in day_first.items():
        fl_text = (folder / "certs" / "Get-ExchangeCertificate-fl.txt").read_bytes().decode("utf-16")
        dates = re.findall(r"(?m)^Not(?:After|Before) +: (\d+)/(\d+)/", fl_text)
        assert any(int(day) <= 12 and day != month for day, month in dates)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            certs = exlab.read_certs(folder / "certs", tz=truth["tz"], culture=truth["culture"])
            events = exlab.read_events(folder / "events", tz=truth["tz"], culture=truth["culture"])
        assert certs["conflicts"].map(len).sum() == 0      # the fl * dates agree with the .cer's
        assert certs["source"].str.contains("Get-ExchangeCertificate-fl.txt").sum() == len(certs)
        by_format = {f.format: f for f in events.attrs["parse_report"].files}
        assert by_format["event-viewer-csv"].records_skipped == 0
        csv_times = set(events.loc[events["source"].str.endswith(".csv"), "time_created"])
        evtx_times = set(events.loc[events["source"].str.endswith(".evtx"), "time_created"].dt.floor("s"))
        assert csv_times and csv_times <= evtx_times
