"""Opening a case hashes each evidence file once: telling a file's kind reads its head only, the reader
that takes it hashes it as it opens it (before, every file was hashed twice)."""

from __future__ import annotations

import collections
import warnings

import exlab.evidence
from exlab.case import evidence_files, open_case
from tests.conftest import SAMPLES


def test_each_file_of_a_case_is_hashed_once(monkeypatch):
    hashed = collections.Counter()
    real = exlab.evidence.sha256_of

    def counting(stream):
        hashed[getattr(stream, "name", None)] += 1
        return real(stream)

    monkeypatch.setattr(exlab.evidence, "sha256_of", counting)
    folder = SAMPLES / "contoso-kb2888788"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        case = open_case(folder, roots=SAMPLES / "lab-public-root.pem")
    files = {str(folder / report.file) for report in evidence_files(case.reports)}   # settings and anchors apart
    assert len(files) > 10 and set(hashed) == files
    assert set(hashed.values()) == {1}
    assert all(len(report.sha256) == 64 for report in case.reports.files)


def test_a_case_lists_its_folder_once(monkeypatch, tmp_path):
    import shutil
    import zipfile

    import exlab.case

    folder = tmp_path / "case"
    shutil.copytree(SAMPLES / "contoso-kb2888788", folder)
    with zipfile.ZipFile(folder / "certs.zip", "w") as bundle:       # a zip among the files: its members are listed too
        for path in sorted((folder / "certs").iterdir()):
            bundle.write(path, f"more/{path.name}")
    told = collections.Counter()
    real = exlab.case.is_bundle

    def counting(path):
        told[str(path)] += 1
        return real(path)

    monkeypatch.setattr(exlab.case, "is_bundle", counting)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        case = open_case(folder, roots=SAMPLES / "lab-public-root.pem")
    files = [path for path in folder.rglob("*") if path.is_file()]
    assert any("certs.zip!" in report.file for report in case.reports.files)
    assert {path: told[str(path)] for path in files} == {path: 1 for path in files}   # each told a zip or not once
