"""A case folder whose name is not UTF-8 (a folder unzipped from a Windows code page on Linux:
``sprawa-\\xb3\\xf3d\\xbc`` is "sprawa-łódź" in cp1250). Python keeps such bytes as surrogate
escapes, which no frame, report or store can hold: every reader failed "with a bug in exlab" and
the case held nothing. Now the names read as text, ``\\xNN`` for each such byte."""

from __future__ import annotations

import os
import shutil
import warnings
from pathlib import Path

import pytest

import exlab
from tests.conftest import SAMPLES
from tests.samples import quiet_case

RAW_NAME = b"sprawa-\xb3\xf3d\xbc"    # cp1250 bytes, not UTF-8


@pytest.fixture(scope="module")
def cases(tmp_path_factory) -> tuple[Path, Path]:
    """The contoso sample as it is, and a copy under a folder whose name is not UTF-8."""
    root = tmp_path_factory.mktemp("non-utf8")
    folder = Path(os.fsdecode(os.path.join(os.fsencode(root), RAW_NAME)))
    try:
        shutil.copytree(SAMPLES / "contoso-kb2888788", folder)
    except (OSError, UnicodeError):
        pytest.skip("this file system keeps only UTF-8 names")
    return SAMPLES / "contoso-kb2888788", folder


def _open(folder: Path) -> exlab.Case:
    return quiet_case(folder, roots=SAMPLES / "lab-public-root.pem")

def test_a_folder_whose_name_is_not_utf8_gives_the_verdict_of_the_same_case(cases):
    sample, folder = cases
    original, renamed = _open(sample), _open(folder)
    assert len(renamed.unread) == len(original.unread)
    for kind in ("events", "certs", "sessions", "tracking", "connectors", "servers"):
        assert len(renamed.frames[kind]) == len(original.frames[kind]), kind
    assert renamed.diagnose().to_dict() == original.diagnose().to_dict()
    assert sorted(file.file for file in renamed.reports.files) == sorted(file.file for file in original.reports.files)


def test_its_report_and_store_name_it_with_the_bytes_visible(cases, tmp_path):
    from exlab.fleet import ingest
    from exlab.report import build_report

    _, folder = cases
    report = build_report(_open(folder))
    assert report.case == "sprawa-\\xb3\\xf3d\\xbc"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ingest([folder], tmp_path / "store")
        stored = exlab.open_case(tmp_path / "store", roots=SAMPLES / "lab-public-root.pem")
    assert stored.diagnose().verdict == "confirmed"
    assert all(name.startswith("sprawa-\\xb3\\xf3d\\xbc/") for name in stored.unread["file"])
