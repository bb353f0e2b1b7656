"""No silent loss: whole records repeated in place or appended (as a careless copy, a shadow
copy or a log written twice does) never cost rows without a counted skip or a counted
duplicate. Where a format gives one row per record, the rows grow by exactly the records added.
"""

from __future__ import annotations

import re
import warnings

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st

from exlab.errors import DataLossWarning
from exlab.events import evtx_layout as layout
from tests.fuzz.families import EVENT_EXPORTS, EVTX, PROTOCOL_LOGS, TRACKING_LOGS
from tests.fuzz.harness import BASE_SEED, EXAMPLES, TIME_LIMIT, Family, time_limit

REPEATS = settings(max_examples=max(1, EXAMPLES // 10), deadline=None, database=None,
                   suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
_LOG_RECORD = re.compile(rb"^(?!#|\xef\xbb\xbf#).+\r?\n", re.MULTILINE)          # a data line of a W3C-style Exchange log
_EVENT = re.compile(rb"<Event[ >].*?</Event>\r?\n?", re.DOTALL)      # one event of a UTF-8 event XML export


def log_records(data: bytes) -> list[tuple[int, int]]:
    return [match.span() for match in _LOG_RECORD.finditer(data)]


def xml_events(data: bytes) -> list[tuple[int, int]]:
    return [match.span() for match in _EVENT.finditer(data)] if b"<\x00" not in data[:200] else []


def evtx_chunks(data: bytes) -> list[tuple[int, int]]:
    starts = range(layout.FILE_HEADER_SIZE, len(data) - layout.CHUNK_SIZE + 1, layout.CHUNK_SIZE)
    return [(start, start + layout.CHUNK_SIZE) for start in starts if data[start:start + 8] == b"ElfChnk\0"]


# family, how its records are found, whether each record is one row (else rows may merge, as sessions do)
SHAPES = [(TRACKING_LOGS, log_records, True), (PROTOCOL_LOGS, log_records, False), (EVENT_EXPORTS, xml_events, True),
          (EVTX, evtx_chunks, False)]


def read(family: Family, data: bytes, folder) -> tuple[int, int]:
    """Rows read, and what the parse report counts as not kept: skipped records, duplicates dropped."""
    path = folder / f"input{family.suffix}"
    path.write_bytes(data)
    with warnings.catch_warnings(), time_limit(TIME_LIMIT):
        warnings.simplefilter("ignore")
        frame = family.read(path)
    assert isinstance(frame, pd.DataFrame)
    files = frame.attrs["parse_report"].files
    dropped = sum(file.account.duplicates_dropped for file in files if file.account is not None)
    return len(frame), sum(file.records_skipped for file in files) + dropped


@pytest.mark.parametrize(("family", "records", "one_row_each"), SHAPES, ids=[shape[0].name for shape in SHAPES])
@REPEATS
@seed(BASE_SEED)
@given(data=st.data())
def test_repeated_records_never_cost_rows_silently(family, records, one_row_each, data, tmp_path_factory):
    folder = tmp_path_factory.mktemp("loss")
    seeds = {label: raw for label, raw in family.seeds().items() if records(raw)}
    label = data.draw(st.sampled_from(sorted(seeds)), label="seed file")
    original = seeds[label]
    spans = records(original)
    picked = data.draw(st.lists(st.sampled_from(spans), min_size=1, max_size=5), label="records repeated")
    appended = data.draw(st.booleans(), label="appended at the end")
    if appended:
        mutated = original + b"".join(original[start:end] for start, end in picked)
    else:
        pieces, last = [], 0
        for start, end in sorted(set(picked)):
            pieces += [original[last:end], original[start:end]]
            last = end
        mutated = b"".join(pieces) + original[last:]
    rows, were_not_kept = read(family, original, folder)
    mutated_rows, not_kept = read(family, mutated, folder)
    added = len(picked) if appended else len(set(picked))
    said = f"{label}: {rows} rows and {were_not_kept} counted, then {mutated_rows} and {not_kept}"
    assert mutated_rows + not_kept >= rows + were_not_kept, said
    if one_row_each:
        assert mutated_rows + not_kept == rows + were_not_kept + added, f"{said}, {added} record(s) added"


def test_a_file_whose_every_chunk_is_zeroed_is_warned_as_a_loss(tmp_path):
    """The file header counts records and chunks, every chunk is zeros: no row, and before, no
    warning either (the header's claim cannot be placed, so nothing was counted lost)."""
    data = (EVTX.seeds().get("samples:litware-servers/LWEX01/Application.evtx")
            or next(iter(EVTX.seeds().values())))
    path = tmp_path / "Application.evtx"
    path.write_bytes(data[:layout.FILE_HEADER_SIZE] + bytes(len(data) - layout.FILE_HEADER_SIZE))
    with pytest.warns(DataLossWarning, match="no chunk it counts is readable") as caught:
        frame = EVTX.read(path)
    assert len(frame) == 0 and len(caught) == 1
    assert caught[0].filename == str(path)
