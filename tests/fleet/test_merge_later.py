"""The store keeps a date an export printed in the hour the clocks go back over, unsettled, with its second
reading (``not_after_later``), and its merge of the batches settles it as one read of all the files
does: a certificate file ingested from another folder gives the exact time."""

from __future__ import annotations

import warnings
from datetime import datetime, timezone

import pandas as pd

import exlab
from exlab.fleet.ingestion import ingest
from exlab.lab.cert_exports import ExchangeCert, write_list
from exlab.lab.pki import LabPki

TZ = "Europe/Warsaw"
SECOND = datetime(2026, 10, 25, 1, 30, tzinfo=timezone.utc)     # 02:30 in Warsaw, its second pass


def _evidence(tmp_path, *, with_cer: bool):
    """EX01's Format-List of a certificate expiring at 02:30 Warsaw time (the second pass) and, in another
    folder ingested apart, its .cer."""
    cert = LabPki("tests-merge-later").server("mail.contoso.com", ["mail.contoso.com"], ca="internal",
                                               not_before=datetime(2025, 3, 14, tzinfo=timezone.utc), not_after=SECOND)
    (tmp_path / "EX01").mkdir()
    write_list([ExchangeCert(cert.certificate, services=("IIS", "SMTP"))], tmp_path / "EX01" / "fl.txt", tz=TZ)
    sources = [tmp_path / "EX01"]
    if with_cer:
        (tmp_path / "certs").mkdir()
        (tmp_path / "certs" / "mail.cer").write_bytes(cert.der)
        sources.append(tmp_path / "certs")
    return sources


def _stored(tmp_path, sources) -> pd.DataFrame:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ingest(sources, tmp_path / "store", tz=TZ, progress=False)
        return exlab.open_case(tmp_path / "store").frames["certs"]


def test_a_certificate_file_ingested_apart_settles_the_date_as_a_read_of_both_folders_does(tmp_path):
    sources = _evidence(tmp_path, with_cer=True)
    certs = _stored(tmp_path, sources)
    assert certs["not_after"].tolist() == [pd.Timestamp(SECOND)]
    assert certs["not_after_later"].isna().all() and certs.loc[0, "conflicts"] == ()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        direct = exlab.read_certs(sources, tz=TZ)
    assert direct[["not_after", "not_after_later"]].equals(certs[["not_after", "not_after_later"]])


def test_an_unsettled_date_keeps_its_second_reading_in_the_store(tmp_path):
    certs = _stored(tmp_path, _evidence(tmp_path, with_cer=False))
    assert certs["not_after"].tolist() == [pd.Timestamp(SECOND) - pd.Timedelta(hours=1)]
    assert certs["not_after_later"].tolist() == [pd.Timestamp(SECOND)]
    assert str(certs["not_after_later"].dtype) == "datetime64[ns, UTC]"
