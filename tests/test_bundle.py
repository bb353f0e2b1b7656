"""``exlab.bundle``: a .zip of evidence read in place, to the same frames as the folder it holds;
hostile zips refused naming the zip and the member."""

from __future__ import annotations

import hashlib
import io
import zipfile
from pathlib import Path

import pandas as pd
import pytest

import exlab
from exlab import bundle
from exlab.bundle import UnsafeBundle, bundle_members
from exlab.case import open_case
from exlab.errors import CorruptInput, EvidenceNotFound
from exlab.evidence import iter_evidence
from exlab.lab.generate import ROOTS_FILE
from exlab.settings import SETTINGS_FILE
from tests.samples import sample_cases

CONTOSO = next(case for case in sample_cases() if case.name == "contoso-kb2888788")
FL_CERTS = "certs/Get-ExchangeCertificate-fl.txt"
SEND_LOG = "logs/ProtocolLog/SmtpSend/SEND20250320-1.LOG"
TRACKING_LOG = "logs/MessageTracking/MSGTRK20250320-1.LOG"


def zip_folder(folder: Path, target: Path, *, root: str = "", backslashes: bool = False) -> Path:
    """``folder``'s evidence zipped with every file under ``root`` (the case's settings and trust
    anchors stay out: they are the engineer's, not the server's); ``backslashes`` as
    Compress-Archive of Windows PowerShell 5.1 writes it: ``\\`` between folders, made by MS-DOS,
    no folder entries."""
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(folder.rglob("*")):
            if not path.is_file() or path.name in (SETTINGS_FILE, ROOTS_FILE):
                continue
            name = f"{root}{path.relative_to(folder).as_posix()}"
            info = zipfile.ZipInfo(name.replace("/", "\\") if backslashes else name, (2025, 3, 21, 16, 40, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            if backslashes:
                info.create_system = 0
            archive.writestr(info, path.read_bytes())
    return target


def zip_of(target: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return target


def renamed(frame: pd.DataFrame, prefix: str) -> pd.DataFrame:
    """The frame with ``prefix`` taken off its sources (a zipped case's names as the folder's)."""
    out = frame.copy()
    if "source" in out:
        out["source"] = out["source"].str.replace(prefix, "", regex=False).astype(frame["source"].dtype)
    out.attrs = {}
    return out


@pytest.fixture(scope="module")
def folder_case():
    return open_case(CONTOSO.folder, roots=CONTOSO.roots, tz=CONTOSO.truth["tz"], culture=CONTOSO.truth["culture"])


@pytest.mark.parametrize("shape", ["nested-folders", "compress-archive", "zip-in-zip"])
def test_a_zipped_case_reads_to_the_same_frames_and_verdict_as_its_folder(shape, folder_case, tmp_path):
    if shape == "nested-folders":
        case_zip = zip_folder(CONTOSO.folder, tmp_path / "contoso.zip", root="contoso-kb2888788/")
        prefix = "contoso.zip!contoso-kb2888788/"
    elif shape == "compress-archive":
        case_zip = zip_folder(CONTOSO.folder, tmp_path / "contoso.zip", root="contoso-kb2888788/", backslashes=True)
        prefix = "contoso.zip!contoso-kb2888788/"
    else:
        inner = zip_folder(CONTOSO.folder, tmp_path / "EX01.zip", backslashes=True)
        case_zip = zip_of(tmp_path / "contoso.zip", {"servers/EX01.zip": inner.read_bytes()})
        prefix = "contoso.zip!servers/EX01.zip!"
    case = open_case(case_zip, roots=CONTOSO.roots, tz=CONTOSO.truth["tz"], culture=CONTOSO.truth["culture"])
    assert sorted(case.frames) == sorted(folder_case.frames)
    for kind, frame in folder_case.frames.items():
        pd.testing.assert_frame_equal(renamed(case.frames[kind], prefix), renamed(frame, ""), obj=kind)
    diagnosis = case.diagnose()
    assert (diagnosis.verdict, diagnosis.cause, diagnosis.culprit) == (
        CONTOSO.truth["verdict"], CONTOSO.truth["cause"], CONTOSO.truth["culprit"])
    files = case.reports.to_frame().set_index("file")
    assert files.loc["contoso.zip", "format"] == "zip"
    assert files.loc["contoso.zip", "sha256"] == hashlib.sha256(case_zip.read_bytes()).hexdigest()
    fl = (CONTOSO.folder / FL_CERTS).read_bytes()
    assert files.loc[prefix + FL_CERTS, "sha256"] == hashlib.sha256(fl).hexdigest()
    assert [name.replace(prefix, "") for name in case.unread["file"]] == list(folder_case.unread["file"])
    assert prefix + "truth.json" in set(case.unread["file"])


def test_a_reader_takes_a_zip_or_one_member_of_it(tmp_path):
    case_zip = zip_folder(CONTOSO.folder, tmp_path / "contoso.zip", backslashes=True)
    certs_zip = zip_folder(CONTOSO.folder / "certs", tmp_path / "certs.zip", root="certs\\", backslashes=True)
    whole, folder = exlab.read_certs(certs_zip), exlab.read_certs(CONTOSO.folder / "certs")
    assert whole["thumbprint"].tolist() == folder["thumbprint"].tolist()
    assert f"{certs_zip}!{FL_CERTS}" in set(whole["source"].str.split("; ").explode())
    one = exlab.read_certs(f"{case_zip}!{FL_CERTS}")
    folder = exlab.read_certs(CONTOSO.folder / FL_CERTS)
    assert one["thumbprint"].tolist() == folder["thumbprint"].tolist()
    assert "74964A4CA45004A0218DFD0367D5D056C203C618" in set(one["thumbprint"])
    archive, report = one.attrs["parse_report"].files
    assert (archive.file, archive.format, archive.sha256) == (str(case_zip), "zip", sha256(case_zip))
    assert report.sha256 == folder.attrs["parse_report"].files[0].sha256
    with pytest.raises(EvidenceNotFound, match="a member of"):
        exlab.read_certs(f"{case_zip}!certs/no-such.txt")


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


READERS = [(exlab.read_certs, "certs"), (exlab.read_events, "events"), (exlab.read_connectors, "config"),
           (exlab.read_protocol_log, "logs/ProtocolLog"), (exlab.read_tracking_log, "logs/MessageTracking")]


@pytest.mark.parametrize(("read", "folder"), READERS)
def test_a_reader_given_a_zip_records_the_zips_own_sha256_before_its_members(tmp_path, read, folder):
    zipped = zip_folder(CONTOSO.folder / folder, tmp_path / f"{Path(folder).name}.zip", root=f"{folder}/")
    case = tmp_path / "case"
    case.mkdir()
    (case / "inner.zip").write_bytes(zipped.read_bytes())
    for source, archive in ((zipped, zipped), (case, case / "inner.zip")):
        files = read(source).attrs["parse_report"].files
        assert (files[0].file, files[0].format, files[0].size) == (str(archive), "zip", archive.stat().st_size)
        assert files[0].sha256 == sha256(archive) and files[0].records_read == 0
        members = {f.file.split("!", 1)[1]: f.sha256 for f in files[1:]}
        assert members and all(digest == sha256(CONTOSO.folder / name) for name, digest in members.items())


@pytest.mark.parametrize(("read", "log"), [(exlab.read_protocol_log, SEND_LOG), (exlab.read_tracking_log, TRACKING_LOG)])
def test_a_log_reader_given_one_member_of_a_zip_lists_the_zip_first(tmp_path, read, log):
    case_zip = zip_folder(CONTOSO.folder, tmp_path / "contoso.zip")
    files = read(f"{case_zip}!{log}").attrs["parse_report"].files
    assert [(f.file, f.format, f.size, f.sha256) for f in files[:1]] == [
        (str(case_zip), "zip", case_zip.stat().st_size, sha256(case_zip))]
    assert [(f.file, f.sha256) for f in files[1:]] == [(f"{case_zip}!{log}", sha256(CONTOSO.folder / log))]


@pytest.mark.parametrize(("read", "folder"), READERS)
def test_a_zip_inside_a_zip_is_listed_with_the_sha256_of_its_own_bytes(tmp_path, read, folder):
    inner = zip_folder(CONTOSO.folder / folder, tmp_path / "EX01.zip", root=f"{folder}/", backslashes=True)
    outer = zip_of(tmp_path / "case.zip", {"servers/EX01.zip": inner.read_bytes()})
    files = read(outer).attrs["parse_report"].files
    zips = [(f.file, f.format, f.size, f.sha256) for f in files[:2]]
    assert zips == [(str(outer), "zip", outer.stat().st_size, sha256(outer)),
                    (f"{outer}!servers/EX01.zip", "zip", inner.stat().st_size, sha256(inner))]
    members = {f.file.split("!", 2)[2]: f.sha256 for f in files[2:]}
    assert members and all(digest == sha256(CONTOSO.folder / name) for name, digest in members.items())


def test_a_case_lists_each_zip_inside_a_zip_once_with_its_sha256(tmp_path):
    first = zip_folder(CONTOSO.folder / "certs", tmp_path / "EX01.zip", root="certs/")
    second = zip_folder(CONTOSO.folder / "logs", tmp_path / "EX02.zip", root="logs/")
    outer = zip_of(tmp_path / "case.zip", {"servers/EX01.zip": first.read_bytes(),
                                            "servers/EX02.zip": second.read_bytes()})
    case = open_case(outer, roots=CONTOSO.roots, tz=CONTOSO.truth["tz"], culture=CONTOSO.truth["culture"])
    zips = [(f.file, f.size, f.sha256) for f in case.reports.files if f.format == "zip"]
    assert zips == [("case.zip", outer.stat().st_size, sha256(outer)),
                    ("case.zip!servers/EX01.zip", first.stat().st_size, sha256(first)),
                    ("case.zip!servers/EX02.zip", second.stat().st_size, sha256(second))]


def test_a_zipped_case_lists_its_zip_once(tmp_path):
    zipped = zip_folder(CONTOSO.folder, tmp_path / "contoso.zip")
    case = open_case(zipped, roots=CONTOSO.roots, tz=CONTOSO.truth["tz"], culture=CONTOSO.truth["culture"])
    zips = [f for f in case.reports.files if f.format == "zip"]
    assert [(f.file, f.sha256) for f in zips] == [("contoso.zip", sha256(zipped))]


def test_a_zip_in_a_folder_is_read_with_the_folder(tmp_path):
    case = tmp_path / "case"
    case.mkdir()
    (case / "certs.zip").write_bytes(zip_folder(CONTOSO.folder / "certs", tmp_path / "certs.zip").read_bytes())
    names = [evidence.name for evidence in iter_evidence(case)]
    assert names == [f"{case / 'certs.zip'}!{path.name}" for path in sorted((CONTOSO.folder / "certs").iterdir())]


@pytest.mark.parametrize("name", ["../../etc/passwd", "certs/../../outside.txt", "/etc/passwd",
                                  "C:/Windows/win.ini", "C:\\Windows\\win.ini", "..\\..\\evil.txt"])
def test_a_member_named_outside_the_zip_is_refused_naming_zip_and_member(name, tmp_path):
    hostile = zip_of(tmp_path / "hostile.zip", {"certs/fl.txt": b"Thumbprint : AB", name: b"x"})
    with pytest.raises(UnsafeBundle) as refused:
        bundle_members(hostile)
    assert refused.value.source == str(hostile)
    assert refused.value.where == name.replace("\\", "/")
    assert "a member name inside the zip" in str(refused.value)


def test_a_zip_bomb_is_refused_by_its_compression_ratio(tmp_path):
    bomb = zip_of(tmp_path / "bomb.zip", {"logs/SEND1.LOG": bytes(50 << 20)})
    with pytest.raises(UnsafeBundle, match=r"bomb\.zip, logs/SEND1\.LOG: expected a compression ratio of at most 250:1"):
        bundle_members(bomb)
    with pytest.raises(UnsafeBundle, match="zip bomb"):
        open_case(bomb)


def test_a_nested_bomb_is_refused_naming_the_path_through_the_zips(tmp_path):
    inner = zip_of(tmp_path / "inner.zip", {"zeros.bin": bytes(50 << 20)})
    outer = zip_of(tmp_path / "outer.zip", {"EX01.zip": inner.read_bytes()})
    with pytest.raises(UnsafeBundle) as refused:
        bundle_members(outer)
    assert (refused.value.source, refused.value.where) == (str(outer), "EX01.zip!zeros.bin")


def test_limits_on_members_sizes_and_depth(tmp_path, monkeypatch):
    many = zip_of(tmp_path / "many.zip", {f"logs/{n}.LOG": b"x" for n in range(5)})
    monkeypatch.setattr(bundle, "MAX_MEMBERS", 4)
    with pytest.raises(UnsafeBundle, match=r"many\.zip, logs/4\.LOG: expected at most 4 members"):
        bundle_members(many)
    monkeypatch.setattr(bundle, "MAX_MEMBERS", 100)
    monkeypatch.setattr(bundle, "MAX_MEMBER_SIZE", 10)
    big = zip_of(tmp_path / "big.zip", {"certs/fl.txt": b"Thumbprint : " + b"AB" * 20})
    with pytest.raises(UnsafeBundle, match=r"big\.zip, certs/fl\.txt: expected a member of at most 10 bytes"):
        bundle_members(big)
    monkeypatch.setattr(bundle, "MAX_MEMBER_SIZE", 1 << 20)
    monkeypatch.setattr(bundle, "MAX_BUNDLE_SIZE", 3)
    with pytest.raises(UnsafeBundle, match=r"many\.zip, logs/3\.LOG: expected at most 3 bytes"):
        bundle_members(many)
    monkeypatch.setattr(bundle, "MAX_BUNDLE_SIZE", 1 << 20)
    level = zip_of(tmp_path / "z0.zip", {"a.txt": b"a"})
    for depth in range(1, 4):
        level = zip_of(tmp_path / f"z{depth}.zip", {f"z{depth - 1}.zip": level.read_bytes()})
    with pytest.raises(UnsafeBundle, match=r"z3\.zip, z2\.zip!z1\.zip!z0\.zip: expected zips at most 3 deep"):
        bundle_members(level)


def test_two_members_of_one_name_are_refused(tmp_path):
    with zipfile.ZipFile(tmp_path / "twice.zip", "w") as archive, pytest.warns(UserWarning, match="Duplicate name"):
        archive.writestr("certs/fl.txt", b"Thumbprint : AB")
        archive.writestr("certs/fl.txt", b"Thumbprint : CD")
    with pytest.raises(UnsafeBundle, match="each member name once"):
        bundle_members(tmp_path / "twice.zip")


def test_a_damaged_member_is_corrupt_input_naming_it(tmp_path):
    good = zip_of(tmp_path / "good.zip", {"certs/fl.txt": b"Thumbprint : " + b"AB" * 2000})
    data = bytearray(good.read_bytes())
    data[60:80] = bytes(20)                  # inside the deflated data of the only member
    (tmp_path / "bad.zip").write_bytes(bytes(data))
    with pytest.raises(CorruptInput, match=r"bad\.zip, certs/fl\.txt: expected a member the zip can decompress"):
        list(iter_evidence(tmp_path / "bad.zip"))


def test_a_member_bigger_than_the_memory_copy_limit_is_streamed(tmp_path, monkeypatch):
    text = b"Thumbprint : " + b"AB" * 20 + b"\r\n"
    case_zip = zip_of(tmp_path / "c.zip", {"certs/fl.txt": text})
    monkeypatch.setattr(bundle, "MEMORY_COPY_LIMIT", 8)
    [evidence] = list(iter_evidence(case_zip))
    assert not isinstance(evidence.stream, io.BytesIO)
    assert evidence.sha256 == hashlib.sha256(text).hexdigest()
