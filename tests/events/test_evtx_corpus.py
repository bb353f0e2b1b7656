"""Both .evtx engines against the public corpus (../shared/evtx-corpus, EXPECTED.tsv)."""

from __future__ import annotations

import json
import re
import warnings
from collections import Counter

import evtx
import pandas as pd
import pytest

import exlab
from exlab.events import evtx_layout as layout
from tests.conftest import corpus_files

pytestmark = pytest.mark.corpus

FILES = corpus_files()
IDS = [f.path.name for f in FILES]


def read(path, **kwargs) -> pd.DataFrame:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", exlab.DataLossWarning)
        return exlab.read_events(path, **kwargs)


def expected_time(text: str) -> pd.Timestamp:
    return pd.Timestamp(text.replace(" UTC", ""))


def written_times(path) -> dict[int, int]:
    """Record number -> record-header FILETIME, from the layout walk (what EXPECTED's
    first/last columns hold: pyevtx-rs's ``timestamp`` is the record header's time)."""
    data = path.read_bytes()
    times: dict[int, int] = {}
    with open(path, "rb") as stream:
        for slot in layout.iter_chunks(stream, len(data)):
            if slot.status == layout.OK:
                for header in layout.walk_records(slot.data).records:
                    times[header.number] = header.written
    return times


def rust_timestamp_text(filetime: int) -> str:
    """A record-header FILETIME as pyevtx-rs prints it: 100-ns digits, trailing zeros cut."""
    seconds, ticks = divmod(filetime - layout.FILETIME_EPOCH, 10_000_000)
    text = pd.Timestamp(seconds, unit="s").strftime("%Y-%m-%dT%H:%M:%S")
    fraction = f"{ticks:07d}".rstrip("0")
    return f"{text}{'.' + fraction if fraction else ''}Z UTC"


def rendered_system_times(path) -> dict[int, str | None]:
    """Record number -> TimeCreated/@SystemTime as pyevtx-rs renders it, read independently
    (whole file, plain records_json() loop that steps over errors)."""
    out: dict[int, str | None] = {}
    records = evtx.PyEvtxParser(str(path)).records_json()
    while True:
        try:
            record = next(records)
        except StopIteration:
            return out
        except RuntimeError:
            continue
        system = json.loads(record["data"])["Event"].get("System") or {}
        created = system.get("TimeCreated") or {}
        out[record["event_record_id"]] = (created.get("#attributes") or {}).get("SystemTime")


@pytest.fixture(scope="module")
def frames():
    return {f.path.name: read(f.path) for f in FILES}


@pytest.mark.parametrize("truth", FILES, ids=IDS)
def test_default_engine_matches_expected(truth, frames):
    frame = frames[truth.path.name]
    report = frame.attrs["parse_report"].files[0]
    assert report.engine == "evtx"
    assert len(frame) == truth.records == report.records_read
    assert Counter(frame["event_id"].astype(int)) == truth.event_ids
    assert len(report.losses) == truth.errors
    # EXPECTED's first/last are the lowest/highest of pyevtx-rs's record-header time
    # strings (as text: "...36.046875Z" sorts before "...36Z"); rebuild them from our rows.
    written = written_times(truth.path)
    texts = [rust_timestamp_text(written[n]) for n in frame["record_number"]]
    assert (min(texts), max(texts)) == (truth.first, truth.last)
    assert frame["source"].eq(str(truth.path)).all()
    assert frame["message"].isna().all()


@pytest.mark.parametrize("truth", FILES, ids=IDS)
def test_time_created_is_the_rendered_time_at_100ns(truth, frames):
    """Every TimeCreated equals pyevtx-rs's rendering (microseconds, or the string as
    written), and carries the 100-ns digit: where TimeCreated and the record header's
    time agree to the microsecond they agree to the 100 ns."""
    frame = frames[truth.path.name]
    rendered = rendered_system_times(truth.path)
    written = written_times(truth.path)
    for number, stamp in zip(frame["record_number"], frame["time_created"]):
        text = rendered[number]
        if pd.isna(stamp):
            assert text is None or text.startswith("1601-01-01")
            continue
        digits = re.search(r"\.(\d+)Z$", text).group(1)
        if len(digits) == 6:
            assert stamp.strftime("%Y-%m-%dT%H:%M:%S.%fZ") == text
            header_ns = layout.filetime_to_ns(written[number])
            if header_ns is not None and header_ns // 1000 == stamp.value // 1000:
                assert stamp.value == header_ns
        else:
            assert stamp == pd.Timestamp(text)


def test_full_precision_example():
    truth = next(f for f in FILES if f.path.name == "omer__Application_no_crc32.evtx")
    frame = read(truth.path)
    assert frame["time_created"].min() == expected_time(truth.first)   # ...45.0187674Z
    assert frame["time_created"].min().value % 1000 == 400


def test_zero_filetime_becomes_nat_with_a_note():
    path = next(f.path for f in FILES if f.path.name == "omer__HelloForBusiness_incomplete_sid.evtx")
    frame = read(path)
    assert frame["time_created"].isna().sum() == 1
    report = frame.attrs["parse_report"].files[0]
    assert any("zero FILETIME" in note for note in report.warnings)


def test_classic_event_shape():
    """A classic source (qualifiers, unnamed Data with empty strings, Binary as hex)."""
    path = next(f.path for f in FILES if f.path.name.startswith("attack__MSSQL"))
    row = read(path).iloc[0]
    assert (row["event_id"], row["qualifiers"], row["level"], row["task"]) == (18456, 49152, 0, 4)
    assert row["keywords"] == "0x90000000000000"
    assert row["provider"] == "MSSQLSERVER" and row["channel"] == "Application"
    assert row["record_id"] == 13026 and row["record_number"] == 1
    assert row["data"]["%1"] == "sa" and row["data"]["%3"] == " [CLIENT: 10.0.2.17]"
    assert row["data"]["Binary"].startswith("184800000E000000")


def loss_numbers(report) -> set[int]:
    return {int(m.group(1)) for loss in report.losses if (m := re.search(r"record (\d+) at", loss.where))}


@pytest.mark.slow
@pytest.mark.parametrize("truth", FILES, ids=IDS)
def test_python_evtx_engine_agrees_or_names_its_losses(truth, frames):
    fast_frame = frames[truth.path.name]
    fast = fast_frame.set_index("record_number")
    slow_frame = read(truth.path, engine="python-evtx")
    report = slow_frame.attrs["parse_report"].files[0]
    assert report.engine == "python-evtx"
    slow = slow_frame.set_index("record_number")
    # never a silent shortfall: every record the default engine read is either read
    # by python-evtx or named in its parse report
    missing = set(fast.index) - set(slow.index)
    assert missing <= loss_numbers(report)
    # and what python-evtx reads beyond the default engine, that engine named as lost
    assert set(slow.index) - set(fast.index) <= loss_numbers(fast_frame.attrs["parse_report"].files[0])
    common = slow.index.intersection(fast.index)
    pd.testing.assert_frame_equal(fast.loc[common], slow.loc[common])   # data dicts included
