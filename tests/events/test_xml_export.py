"""Event Viewer "Save as XML" and wevtutil XML: hand-written fixtures, damage and streaming."""

from __future__ import annotations

import io
import tracemalloc
import warnings
from pathlib import Path

import pandas as pd
import pytest

from exlab import read_events
from exlab.errors import DataLossWarning, UnsupportedFormat
from exlab.events import xml_export
from exlab.lab import oversized

FIXTURES = Path(__file__).parent / "fixtures"
RESPONSE = "454 4.7.0 Failed to establish appropriate TLS channel: UntrustedRoot: Access Denied"


def read_quietly(source, **kwargs) -> pd.DataFrame:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return read_events(source, **kwargs)


def test_event_viewer_export_with_rendering_info():
    frame = read_events(FIXTURES / "eventviewer-pl-PL.xml")
    report = frame.attrs["parse_report"].files[0]
    assert (report.format, report.records_read, report.records_skipped) == ("event-xml", 2, 0)
    first = frame.iloc[0]
    assert first["time_created"] == pd.Timestamp("2025-03-20 13:15:04.1234567", tz="UTC")
    assert (first["provider"], first["event_id"], first["qualifiers"], first["level"], first["task"]) == (
        "MSExchangeTransport", 2004, 16388, 4, 2)
    assert (first["keywords"], first["record_id"], first["channel"], first["computer"]) == (
        "0x80000000000000", 48213, "Application", "EX01.contoso.com")
    assert first["data"] == {"%1": "Outbound to Office 365", "%2": "<7f3a1c@contoso.com>", "%3": RESPONSE, "%4": ""}
    # XML reads the message's CRLF as LF
    assert first["message"] == ("Łącznik wysyłania Outbound to Office 365: dostarczenie wiadomości nie powiodło "
                                f"się.\nOdpowiedź SMTP: {RESPONSE}.")
    assert pd.isna(first["record_number"])
    second = frame.iloc[1]
    assert second["data"] == {"RestartTime": "2125-02-24T12:00:00Z", "Reason": "RulesEngine"}
    assert second["time_created"] == pd.Timestamp("2025-03-20 12:00:00", tz="UTC")   # 9 fractional digits


def test_utf16_export_reads_like_the_utf8_one():
    utf8 = read_events(FIXTURES / "eventviewer-pl-PL.xml")
    utf16 = read_events(FIXTURES / "eventviewer-pl-PL-utf16.xml")
    pd.testing.assert_frame_equal(utf8.drop(columns="source"), utf16.drop(columns="source"))


def test_wevtutil_output_without_root_with_user_data_and_binary():
    frame = read_events(FIXTURES / "wevtutil.xml")
    assert frame["event_id"].tolist() == [104, 12014, 2004]
    assert frame.loc[0, "data"] == {"SubjectUserName": "Administrator", "SubjectDomainName": "CONTOSO",
                                    "Channel": "Application", "BackupPath": ""}
    assert frame.loc[0, "time_created"] == pd.Timestamp("2025-03-18 07:00:01.5", tz="UTC")
    assert pd.isna(frame.loc[0, "qualifiers"]) and frame.loc[0, "keywords"] == "0x8000000000000000"
    assert frame.loc[1, "data"] == {"%1": "<I>CN=Contoso Issuing CA 01, DC=contoso, DC=com<S>CN=mail.contoso.com",
                                    "%2": "Outbound to Office 365", "Binary": "0A0B0C"}
    assert (frame.loc[1, "qualifiers"], frame.loc[1, "level"]) == (49156, 2)
    assert frame["message"].isna().all()


def test_truncated_export_keeps_the_events_before_the_cut():
    with pytest.warns(DataLossWarning, match="skipped 1 record"):
        frame = read_events(FIXTURES / "eventviewer-truncated.xml")
    report = frame.attrs["parse_report"].files[0]
    assert frame["record_id"].tolist() == [48213]
    assert report.losses[0].where == "line 3" and "cut off" in report.losses[0].reason


def test_damaged_events_are_skipped_and_the_others_read():
    with pytest.warns(DataLossWarning, match="skipped 2 record"):
        frame = read_events(FIXTURES / "wevtutil-damaged.xml")
    report = frame.attrs["parse_report"].files[0]
    assert frame["event_id"].tolist() == [12014, 2004]
    assert [loss.where for loss in report.losses] == ["line 2", "line 3"]
    assert all("not well-formed" in loss.reason for loss in report.losses)


def test_an_event_without_end_tag_before_the_next_one_is_counted():
    good = (FIXTURES / "wevtutil.xml").read_bytes()
    broken = good.replace(b"</UserData></Event>", b"</UserData>", 1)
    frame = read_quietly(io.BytesIO(broken))
    assert frame["event_id"].tolist() == [12014, 2004]
    assert frame.attrs["parse_report"].records_skipped == 1


def test_entity_expansion_is_refused_not_evaluated():
    bomb = (b"<?xml version='1.0'?><Event xmlns='http://schemas.microsoft.com/win/2004/08/events/event'>"
            b"<System><Provider Name='&lol;'/><EventID>1</EventID></System></Event>")
    frame = read_quietly(io.BytesIO(bomb))
    assert frame.empty and frame.attrs["parse_report"].records_skipped == 1


def test_xml_that_is_not_an_event_export_is_unsupported():
    with pytest.raises(UnsupportedFormat, match="not-events.xml"):
        read_events(FIXTURES / "not-events.xml")


@pytest.mark.parametrize("block", [1, 7, 64, 1000])
def test_reads_the_same_whatever_the_read_size(monkeypatch, block):
    expected = read_events(FIXTURES / "wevtutil.xml")
    expected_ev = read_events(FIXTURES / "eventviewer-pl-PL.xml")
    monkeypatch.setattr(xml_export, "_BLOCK", block)
    pd.testing.assert_frame_equal(read_events(FIXTURES / "wevtutil.xml"), expected)
    pd.testing.assert_frame_equal(read_events(FIXTURES / "eventviewer-pl-PL.xml"), expected_ev)
    truncated = read_quietly(FIXTURES / "eventviewer-truncated.xml")
    assert truncated["record_id"].tolist() == [48213]
    assert truncated.attrs["parse_report"].records_skipped == 1


def test_event_id_filter_skips_other_events_before_parsing_them():
    frame = read_events(FIXTURES / "wevtutil.xml", event_ids=[2004])
    assert frame["event_id"].tolist() == [2004]
    assert frame.attrs["parse_report"].files[0].records_read == 3   # all were read, one kept
    since = read_events(FIXTURES / "wevtutil.xml", start="2025-03-20")
    assert since["event_id"].tolist() == [12014, 2004]
    assert read_events(FIXTURES / "wevtutil.xml", providers=["msexchangetransport"])["event_id"].tolist() == [
        12014, 2004]


class CountingPattern:
    """A compiled pattern that counts the characters its searches look at."""

    def __init__(self, pattern) -> None:
        self.pattern, self.examined = pattern, 0

    def search(self, text: str, pos: int = 0):
        found = self.pattern.search(text, pos)
        self.examined += (found.end() if found else len(text)) - pos
        return found


class CountingText(io.StringIO):
    """Text that counts how often it is read."""

    reads = 0

    def read(self, size: int = -1) -> str:
        self.reads += 1
        return super().read(size)


@pytest.mark.parametrize("shape", ["attribute", "event", "tiny"])
def test_the_splitter_looks_at_each_character_about_once(monkeypatch, shape):
    monkeypatch.setattr(xml_export, "_BLOCK", 4096)
    reads = []
    for size in ((2_000, 20_000) if shape == "tiny" else (200_000, 2_000_000)):
        searches = CountingPattern(xml_export._EVENT_BOUNDARY)
        monkeypatch.setattr(xml_export, "_EVENT_BOUNDARY", searches)
        text = CountingText(oversized.event_xml(shape, size).decode("utf-8"))
        events = list(xml_export._event_texts(text))
        assert [problem for _, _, problem in events] == [None] * (size if shape == "tiny" else 1)
        assert searches.examined <= 2 * len(text.getvalue())
        reads.append(text.reads)
    if shape != "tiny":   # one event 10x bigger: reads that grow with it, a few more, not 10x more
        assert reads[1] <= reads[0] + 5


def test_memory_over_text_without_events_stays_flat(monkeypatch):
    monkeypatch.setattr(xml_export, "_BLOCK", 4096)
    peaks = []
    for size in (1_000_000, 10_000_000):
        text = io.StringIO(oversized.event_xml("junk", size).decode("utf-8"))
        tracemalloc.start()
        events = list(xml_export._event_texts(text))
        peaks.append(tracemalloc.get_traced_memory()[1])
        tracemalloc.stop()
        assert [problem for _, _, problem in events] == [None]
    assert peaks[1] < 2 * peaks[0] < 1_000_000


def test_an_event_over_the_cap_is_read_through_and_counted_and_the_next_ones_read():
    data = (oversized.event_xml("event", 5_000) + oversized.event_xml("tiny", 2)).decode("utf-8")
    events = list(xml_export._event_texts(io.StringIO(data), cap=1_000))
    assert [(line, problem) for line, _, problem in events] == [
        (1, "event longer than 1000 characters (more than exlab holds of one event)"), (2, None), (3, None)]
    frame = read_quietly(io.BytesIO(data.encode()))
    assert frame["record_id"].tolist() == [1, 1, 2]   # under the real cap, all three are read
