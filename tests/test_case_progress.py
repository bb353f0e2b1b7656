"""The case's progress bar: over the bytes read, moving file by file as the readers go (not once per kind
of evidence), shown once the reading has lasted a second, and only when asked."""

from __future__ import annotations

import io

from tqdm.std import tqdm

import exlab
import exlab.case
from exlab.case import discover, open_case
from exlab.events import evtx_format
from exlab.evidence import progress_over
from tests.conftest import SAMPLES

CASE = SAMPLES / "contoso-kb2888788"


class RecordingBar(tqdm):
    """A terminal bar into a string that remembers each update as (unit, amount)."""

    updates: list[tuple[str, int]] = []

    def __init__(self, *args, **kwargs):
        super().__init__(*args, file=io.StringIO(), **kwargs)

    def update(self, n=1):
        RecordingBar.updates.append((self.unit, n))
        return super().update(n)


def test_the_bar_goes_over_the_bytes_read_file_by_file(monkeypatch):
    RecordingBar.updates = []
    monkeypatch.setattr(exlab.case, "progress_bar",
                        lambda files: RecordingBar(total=files, desc="evidence", unit="file", delay=0))
    open_case(CASE, progress=True)
    found, _ = discover(CASE)
    sizes = [path.stat().st_size for paths in found.values() for path in paths]
    read = [amount for unit, amount in RecordingBar.updates if unit == "B" and amount]
    assert sum(read) == sum(sizes)
    assert len(read) >= len(sizes) > len(found)      # a step per file, not one per kind of evidence


def test_no_bar_unless_asked(capsys, monkeypatch):
    monkeypatch.setattr(exlab.case, "PROGRESS_DELAY", 0)
    open_case(CASE)                                  # the command asks only when stderr is a terminal
    assert "evidence:" not in capsys.readouterr().err


def test_an_asked_bar_is_tqdm_s(capsys, monkeypatch):
    monkeypatch.setattr(exlab.case, "PROGRESS_DELAY", 0)
    open_case(CASE, progress=True)
    assert "evidence:" in capsys.readouterr().err


def test_a_big_evtx_file_moves_the_bar_batch_by_batch(monkeypatch):
    """A .evtx file is read in batches of chunks: each batch read moves the bar, in this process or not."""
    monkeypatch.setattr(evtx_format, "BATCH_CHUNKS", 1)      # the sample's 64 KiB chunks, one batch each
    path = CASE / "events" / "Application.evtx"
    told = []
    with progress_over(told.append, path.stat().st_size):
        frame = exlab.read_events(path, workers=1)
    chunks = (path.stat().st_size - 4096) // 65536
    assert len(frame) > 0 and sum(told) == path.stat().st_size
    assert told[:chunks] == [65536] * chunks and len(told) == chunks + 1    # then the file header
