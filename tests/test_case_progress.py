"""The case's progress bar: over the bytes read, moving file by file as the readers go (not once per kind
of evidence), shown once the reading has lasted a second, and only when asked."""

from __future__ import annotations

import io

from tqdm.std import tqdm

import exlab.case
from exlab.case import discover, open_case
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
    monkeypatch.setattr(exlab.case, "tqdm", RecordingBar)
    monkeypatch.setattr(exlab.case, "PROGRESS_DELAY", 0)
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
