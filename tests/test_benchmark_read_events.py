"""``benchmarks/read_events.py`` measures what it says: its big file of repeated corpus chunks holds
distinct records (renumbered, checksums kept valid), so exlab's full read counts the records the raw
loop counts, with nothing dropped as a copy."""

from __future__ import annotations

import importlib.util
import sys

import pytest

import exlab
from tests.conftest import REPO


@pytest.mark.corpus
def test_the_big_file_holds_distinct_records_that_every_reader_counts_alike(corpus, tmp_path, monkeypatch):
    spec = importlib.util.spec_from_file_location("benchmark_read_events", REPO / "benchmarks" / "read_events.py")
    benchmark = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, spec.name, benchmark)
    spec.loader.exec_module(benchmark)
    sources = [f.path for f in sorted(corpus, key=lambda f: f.path.stat().st_size)[-3:]]
    big = tmp_path / "big.evtx"
    chunks = benchmark.build_big_file(big, 4, sources)
    frame = exlab.read_events(big)
    account = frame.attrs["parse_report"].files[0].account
    assert len(frame) == benchmark.raw_rust_loop(big) > chunks
    assert (account.claimed, account.read, account.duplicates_dropped, account.duplicates_kept, account.lost) == (
        len(frame), len(frame), 0, 0, 0)
