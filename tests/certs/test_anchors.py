"""exlab.certs.anchors: a hostile roots file costs time in proportion to its size."""

from __future__ import annotations

import time
from pathlib import Path

from exlab.certs.anchors import TrustAnchors
from exlab.lab import oversized

ROOT = "CN=Contoso Root CA, DC=contoso, DC=com"


def _load_time(path: Path) -> float:
    """The least CPU time of five loads of ``path`` as roots (each under a new name: loads are cached by path)."""
    best = float("inf")
    for attempt in range(5):
        copy = path.with_name(f"{attempt}-{path.name}")
        copy.write_bytes(path.read_bytes())
        start = time.process_time()
        anchors = TrustAnchors.only(copy)
        best = min(best, time.process_time() - start)
        assert [anchor.subject for anchor in anchors.anchors] == [ROOT]
    return best


def test_a_hostile_roots_file_ten_times_bigger_costs_about_ten_times_more(tmp_path):
    # the PEM regex tried every # line as the start of a block's comments and read on through all the
    # # lines after it: quadratic (4,000 lines took a second, 40,000 would take two minutes)
    small, big = tmp_path / "small.pem", tmp_path / "big.pem"
    small.write_bytes(oversized.pem("comments", 4_000))
    big.write_bytes(oversized.pem("comments", 40_000))
    _load_time(small)   # warm up (regexes compiled, code paths cached)
    ratio = _load_time(big) / _load_time(small)
    assert ratio < 30, f"10x the input took {ratio:.0f}x the time"
