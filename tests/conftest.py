"""Shared fixtures: where the public corpus and the bundled samples live."""

from __future__ import annotations

import csv
import os
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SAMPLES = REPO / "data" / "samples"
CORPUS = Path(os.environ.get("EXLAB_CORPUS", REPO.parent / "shared" / "evtx-corpus"))
REAL_EXPORTS = Path(os.environ.get("EXLAB_REAL_EXPORTS", REPO.parent / "shared" / "real-exports"))


@dataclass(frozen=True)
class CorpusFile:
    """One public .evtx sample and what an independent parser found in it (EXPECTED.tsv)."""

    path: Path
    records: int
    errors: int
    event_ids: Counter
    first: str
    last: str


def corpus_files() -> list[CorpusFile]:
    table = CORPUS / "EXPECTED.tsv"
    if not table.is_file():
        return []
    files = []
    with open(table, encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle, delimiter="\t"):
            ids = Counter({int(k): int(v) for k, v in (p.split(":") for p in row["event_ids"].split(",") if p)})
            files.append(CorpusFile(CORPUS / row["file"], int(row["records"]), int(row["errors"]), ids,
                                    row["first"], row["last"]))
    return files


def pytest_collection_modifyitems(config, items):
    absent = {"corpus": not corpus_files(), "real_exports": not REAL_EXPORTS.is_dir()}
    for marker, where in (("corpus", CORPUS), ("real_exports", REAL_EXPORTS)):
        if absent[marker]:
            skip = pytest.mark.skip(reason=f"{marker.replace('_', ' ')} not found at {where}")
            for item in items:
                if marker in item.keywords:
                    item.add_marker(skip)


@pytest.fixture(scope="session")
def real_exports() -> Path:
    """The folder of real Exchange and PowerShell exports (``../shared/real-exports``): tests read
    them there, never from a copy in the repository. Tests using it carry the ``real_exports`` marker."""
    return REAL_EXPORTS


@pytest.fixture(scope="session")
def corpus() -> list[CorpusFile]:
    return corpus_files()
