"""One certificate in several servers' stores: what a store says (services, status, root CA type, friendly
name, private key) is that server's, so two servers that say different things are no conflict; two
exports of one server that disagree are, and the note says so and names both files."""

from __future__ import annotations

import re
import shutil
import warnings

import pandas as pd
import pytest

import exlab
from exlab.attribution import rows_of
from exlab.lab.cert_exports import ExchangeCert, write_csv, write_list, write_table
from tests.conftest import SAMPLES
from tests.samples import quiet_case

from .helpers import kb2888788_pair

TZ = "Europe/Warsaw"


def _export(path, writer, server: str, **facts) -> None:
    """``writer``'s export of the internal certificate as ``server`` holds it (fl * names the server in
    Identity; fl, the table and a local Export-Csv do not, so only the folder tells it)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    writer([ExchangeCert(kb2888788_pair()[1].certificate, server=server, **facts)], path)


def _read(folder) -> pd.DataFrame:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return exlab.read_certs(sorted(p for p in folder.rglob("*") if p.is_file()), tz=TZ)


def _conflicts_said(frame: pd.DataFrame) -> dict[str, list[str]]:
    return {f.file: [w for w in f.warnings if w.startswith("conflict")] for f in frame.attrs["parse_report"].files
            if any(w.startswith("conflict") for w in f.warnings)}


def _fl(certs, target) -> None:
    write_list(certs, target, tz=TZ)


def _fl_star(certs, target) -> None:
    write_list(certs, target, tz=TZ, all_properties=True)


def _remote_csv(certs, target) -> None:
    write_csv(certs, target, tz=TZ, remote=True)


@pytest.mark.parametrize("writer", [_fl, _fl_star], ids=["server-from-folder", "server-from-identity"])
def test_two_servers_whose_stores_say_different_things_get_a_row_each_and_no_conflict(tmp_path, writer):
    _export(tmp_path / "EX01" / "certs.txt", writer, "EX01", services=("IIS", "SMTP"), root_ca_type="Registry",
            friendly_name="mail 2025")
    _export(tmp_path / "EX02" / "certs.txt", writer, "EX02", services=("IIS", "SMTP"), root_ca_type="Enterprise",
            friendly_name="imported from EX01")
    frame = _read(tmp_path)
    assert _conflicts_said(frame) == {}
    assert frame["conflicts"].tolist() == [(), ()]
    assert frame["root_ca_type"].tolist() == ["Registry", "Enterprise"]
    assert frame["source"].tolist() == [str(tmp_path / f"EX0{n}" / "certs.txt") for n in (1, 2)]


def test_a_servers_own_exports_that_disagree_are_a_conflict_naming_its_two_files(tmp_path):
    _export(tmp_path / "EX01" / "fl.txt", _fl, "EX01", services=("IIS", "SMTP"))
    _export(tmp_path / "EX02" / "fl.txt", _fl, "EX02", services=("IIS", "SMTP"))
    _export(tmp_path / "EX02" / "table.txt", write_table, "EX02", services=("IIS",))   # taken after a change
    frame = _read(tmp_path)
    thumbprint = kb2888788_pair()[1].thumbprint
    ex02_fl, ex02_table = tmp_path / "EX02" / "fl.txt", tmp_path / "EX02" / "table.txt"
    assert _conflicts_said(frame) == {str(ex02_table): [
        f"conflict: {thumbprint}: services: 'IIS, SMTP' ({ex02_fl}) vs 'IIS' ({ex02_table}): two exports of one "
        "server's store disagree (taken at different times?); the first is kept"]}
    by_source = frame.set_index("source")
    assert by_source.loc[str(tmp_path / "EX01" / "fl.txt"), "conflicts"] == ()
    assert by_source.loc[str(tmp_path / "EX01" / "fl.txt"), "services"] == ("IIS", "SMTP")


def test_an_export_beside_one_that_names_its_server_is_that_servers(tmp_path):
    """A remote shell's Export-Csv names EX01 (PSComputerName); the Format-List beside it names no
    server: both are EX01's, one row whose disagreement is a conflict, not two rows of EX01."""
    _export(tmp_path / "EX01" / "certs.csv", _remote_csv, "EX01", services=("IMAP", "POP", "IIS", "SMTP"))
    _export(tmp_path / "EX01" / "fl.txt", _fl, "EX01", services=("IMAP", "POP", "IIS"))
    _export(tmp_path / "EX02" / "fl.txt", _fl, "EX02", services=("IIS",))
    frame = _read(tmp_path)
    assert frame["services"].tolist() == [("IMAP", "POP", "IIS", "SMTP"), ("IIS",)]
    assert frame.loc[0, "source"] == f"{tmp_path / 'EX01' / 'certs.csv'}; {tmp_path / 'EX01' / 'fl.txt'}"
    assert [c.split(" (")[0] for c in frame.loc[0, "conflicts"]] == ["services: 'IMAP, POP, IIS, SMTP'"]
    assert list(_conflicts_said(frame)) == [str(tmp_path / "EX01" / "fl.txt")]


def test_in_a_case_the_certificate_is_each_servers_whatever_the_shape_of_each_export(tmp_path):
    """The litware site with LWEX01's list as ``fl *`` writes it (Identity ``LWEX01\\THUMBPRINT``), the other
    servers' as ``fl``: each server holds the certificates it holds when every export is ``fl``, and the
    certificates several stores hold stay one row each."""
    folder = tmp_path / "litware"
    shutil.copytree(SAMPLES / "litware-servers", folder)
    listed = folder / "LWEX01" / "Get-ExchangeCertificate.txt"
    text = listed.read_bytes().decode("utf-16")
    listed.write_bytes(re.sub(r"(?m)^(Thumbprint *: )([0-9A-F]{40})\r$",
                              lambda m: f"{m[0]}\nIdentity           : LWEX01\\{m[2]}\r", text).encode("utf-16"))
    named, plain = quiet_case(folder), quiet_case(SAMPLES / "litware-servers")
    assert named.certs["server"].str.contains("lwex01").sum() == 4
    assert named.certs["thumbprint"].is_unique and len(named.certs) == len(plain.certs)
    for server in plain.server_list():
        assert set(rows_of(named.certs, [server])["thumbprint"]) == set(rows_of(plain.certs, [server])["thumbprint"])
    pd.testing.assert_frame_equal(named.server_verdicts(), plain.server_verdicts())


def test_an_export_in_a_folder_that_names_no_server_is_the_store_of_the_server_it_holds_the_own_certificate_of(
        tmp_path):
    """The litware site with LWEX01's list in a flat ``certs/`` beside ``LWEX02/`` and ``LWEX03/``: its rows went to
    no server (the public certificate LWEX02's alone) and the inventory asked for LWEX01's certificates, which the
    case holds. The list holds Exchange's own certificate of LWEX01 (self-signed, CN=LWEX01): it is LWEX01's store.
    A list holding two servers' own certificates tells no store: the inventory asks for LWEX01's certificates, or
    for that file in a folder named after its server."""
    folder = tmp_path / "litware"
    shutil.copytree(SAMPLES / "litware-servers", folder)
    (folder / "certs").mkdir()
    shutil.move(folder / "LWEX01" / "Get-ExchangeCertificate.txt", folder / "certs" / "Get-ExchangeCertificate.txt")
    flat, plain = quiet_case(folder), quiet_case(SAMPLES / "litware-servers")
    for server in plain.server_list():
        assert set(rows_of(flat.certs, [server])["thumbprint"]) == set(rows_of(plain.certs, [server])["thumbprint"])
    certs = flat.inventory().set_index("kind").loc["certs"]
    assert certs["servers"] == "; ".join(plain.server_list()) and pd.isna(certs["why"])
    both = folder / "certs" / "Get-ExchangeCertificate.txt"
    both.write_bytes(both.read_bytes() + (folder / "LWEX02" / "Get-ExchangeCertificate.txt").read_bytes()[2:])
    unplaced = quiet_case(folder)
    assert rows_of(unplaced.certs, ["lwex01.litwareinc.com"]) is None
    assert unplaced.inventory().set_index("kind").loc["certs", "why"] == (
        "none from lwex01.litwareinc.com: collect it there too, or, if certs/Get-ExchangeCertificate.txt (which names "
        "no server) is from lwex01.litwareinc.com, put it in a folder named after it")
