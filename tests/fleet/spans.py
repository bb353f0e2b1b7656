"""What the span tests share: a server folder with one multi-chunk lab .evtx, intact or damaged,
and the store's events and parse report next to those of a direct ``read_events``."""

from __future__ import annotations

import dataclasses
import warnings
from pathlib import Path

import pandas as pd

import exlab
from exlab.events.evtx_layout import CHUNK_SIZE, FILE_HEADER_SIZE
from exlab.fleet import read_frame
from exlab.lab import write_evtx
from exlab.lab.cases import case
from exlab.lab.scenario import background_events

RECORDS = 3000
SPAN_CHUNKS = 2       # a span of two chunks: the lab log makes several spans


def write_server_log(folder: Path) -> Path:
    """``folder``/EX01/Application.evtx: the contoso server's background noise, 3000 records in
    many chunks, numbered as a long-running log numbers them. The server folder."""
    site = case("contoso-kb2888788")
    rows = [dict(row, record_id=180_000 + n) for n, (row, _, _) in
            enumerate(background_events(site, site.servers[0], seed=1, count=RECORDS), 1)]
    server = folder / "EX01"
    server.mkdir(parents=True)
    written = write_evtx(server / "Application.evtx", rows)
    assert written.chunks >= 4 * SPAN_CHUNKS
    return server


def damage(log: Path) -> None:
    """Zero chunk 2 (its records lost) and write chunk 1 again over chunk 5 (its records read twice,
    in other spans, and chunk 5's own lost)."""
    data = bytearray(log.read_bytes())
    slot = lambda n: slice(FILE_HEADER_SIZE + n * CHUNK_SIZE, FILE_HEADER_SIZE + (n + 1) * CHUNK_SIZE)  # noqa: E731
    data[slot(2)] = bytes(CHUNK_SIZE)
    data[slot(5)] = data[slot(1)]
    log.write_bytes(bytes(data))


def direct_read(server: Path) -> tuple[pd.DataFrame, list]:
    """``read_events`` of the server's log and its file reports, the file named as the store names it."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        frame = exlab.read_events(server / "Application.evtx")
    named = f"{server.name}/Application.evtx"
    files = [dataclasses.replace(f, file=named) for f in frame.attrs["parse_report"].files]
    return frame.assign(source=pd.array([named] * len(frame), dtype=frame["source"].dtype)), files


def assert_store_is_the_direct_read(store: Path, server: Path) -> None:
    """The store's events are the direct read's, row for row, and so is the file's parse report."""
    stored, (direct, files) = read_frame(store, "events"), direct_read(server)
    pd.testing.assert_frame_equal(stored[list(direct.columns)].reset_index(drop=True), direct.reset_index(drop=True))
    assert stored.attrs["parse_report"].files == files
