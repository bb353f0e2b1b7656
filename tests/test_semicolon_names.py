"""An evidence file whose name holds "; " (``EX01/fl; sent to EX02.txt``, a name Windows allows), the
separator of a ``source`` cell that lists several files: the case reads the cell by the names of the files it
read (``exlab.attribution.source_files``), not by splitting it, so the file keeps its name, its server and
its losses."""

from __future__ import annotations

import warnings

import pandas as pd

import exlab
from exlab.certs.schema import certs_frame
from exlab.fleet.ingestion import ingest
from exlab.lab.cert_exports import ExchangeCert, write_list
from exlab.parse_report import ParseReport
from tests.certs.helpers import kb2888788_pair

ODD = "fl; sent to EX02.txt"       # EX01's export, named after where it was sent


def _evidence(case) -> None:
    """EX01's Format-List of the internal certificate in a file named with "; " (``fl``: it names no server, its
    folder does), and each server's ``fl *`` of the public one (naming its server: the servers the case knows)."""
    public, internal = kb2888788_pair()
    for server in ("EX01", "EX02"):
        (case / server).mkdir(parents=True)
        write_list([ExchangeCert(public.certificate, server=server, services=("IIS", "SMTP"))],
                   case / server / "fl.txt", tz="UTC", all_properties=True)
    write_list([ExchangeCert(internal.certificate, services=("IIS", "SMTP"))], case / "EX01" / ODD, tz="UTC")


def _certs(folder) -> pd.DataFrame:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return exlab.open_case(folder, tz="UTC").frames["certs"]


def test_a_file_named_with_the_separator_is_its_folders_servers_only(tmp_path):
    # the part after "; " ("sent to EX02.txt") named EX02: EX01's certificate was EX02's too
    _evidence(tmp_path)
    certs = _certs(tmp_path)
    assert certs.set_index("source").loc[f"EX01/{ODD}", "server"] == "EX01"


def test_a_file_named_with_the_separator_keeps_its_name_wherever_the_case_is_opened_from(tmp_path, monkeypatch):
    # from inside EX01/, the part after "; " was taken for a file there: "EX01/fl; EX01/sent to EX02.txt"
    _evidence(tmp_path)
    monkeypatch.chdir(tmp_path / "EX01")
    certs = _certs(tmp_path)
    assert set(certs["source"]) == {f"EX01/{ODD}", "EX01/fl.txt; EX02/fl.txt"}


def test_a_file_named_with_the_separator_keeps_its_name_in_the_store(tmp_path):
    # the ingest named the part before "; " by its path on the engineer's machine: "/tmp/.../EX01/fl; sent ..."
    _evidence(tmp_path / "case")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ingest([tmp_path / "case"], tmp_path / "store", tz="UTC", progress=False)
    certs = _certs(tmp_path / "store")
    assert set(certs["source"]) == {f"case/EX01/{ODD}", "case/EX01/fl.txt; case/EX02/fl.txt"}
    assert certs.set_index("source").loc[f"case/EX01/{ODD}", "server"] == "EX01"


def test_a_value_lost_is_counted_in_the_report_of_the_file_named_with_the_separator():
    report = ParseReport()
    odd = report.add_file(f"EX01/{ODD}", sha256="", format="exchange-list")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        certs_frame([{"thumbprint": "AB" * 20, "public_key_size": 2 ** 40, "source": f"EX01/{ODD}; EX01/mail.cer"}],
                    report)
    assert [file.file for file in report.files] == [f"EX01/{ODD}"]
    assert odd.values_nulled == 1
