"""A date one batch's read left in the hour the clocks go back over, which the store's merge settles with
another batch's exact time (``fleet.read.merge_certs``), is told in its file's report as a read of all the
files tells it: a note naming the file that settled it, no warning left that no file tells which pass."""

from __future__ import annotations

import warnings
from datetime import datetime, timezone

import pandas as pd

import exlab
from exlab.fleet.ingestion import ingest
from exlab.lab.cert_exports import ExchangeCert, write_list
from exlab.lab.pki import LabPki
from tests.fleet.stores import ROOTS, assert_same_case, store_case

TZ = "Europe/Warsaw"
HOUR = pd.Timedelta(hours=1)
SECOND = datetime(2026, 10, 25, 1, 30, tzinfo=timezone.utc)     # 02:30 in Warsaw, its second pass
THIRD = datetime(2026, 10, 25, 1, 45, tzinfo=timezone.utc)      # 02:45 in Warsaw, its second pass too


def _site(tmp_path, *, other: str | None = None):
    """EX01's Format-List of a certificate expiring at 02:30 Warsaw time (its .cer in ``certs``, a folder ingested
    apart) and, with ``other``, before it one expiring at 02:45 that no file settles (``unsettled``) or its .cer
    beside the list settles (``beside``); the site's folder and the folders to ingest."""
    pki = LabPki("tests-settled-later")
    issued = datetime(2025, 3, 14, tzinfo=timezone.utc)
    settled = pki.server("mail.contoso.com", ["mail.contoso.com"], ca="internal", not_before=issued, not_after=SECOND)
    early = pki.server("smtp.contoso.com", ["smtp.contoso.com"], ca="internal", not_before=issued, not_after=THIRD)
    site = tmp_path / "site"
    (site / "EX01").mkdir(parents=True)
    (site / "certs").mkdir()
    listed = [early, settled] if other else [settled]
    write_list([ExchangeCert(cert.certificate, services=("IIS", "SMTP")) for cert in listed],
               site / "EX01" / "fl.txt", tz=TZ)
    (site / "certs" / "mail.cer").write_bytes(settled.der)
    if other == "beside":
        (site / "EX01" / "smtp.cer").write_bytes(early.der)
    return site, [site / "EX01", site / "certs"]


def _told(case: exlab.Case, file: str, site) -> list[str]:
    """What the report of ``file`` says of the hour the clocks go back over, the files of ``site`` it names as
    the case names them (the reader names them by their paths on the machine that read them, in a store too)."""
    [report] = [f for f in case.reports.files if f.file == file]
    return [text.replace(f"{site}/", "") for text in report.warnings if "comes twice" in text]


def _cases(tmp_path, **site) -> tuple[exlab.Case, exlab.Case]:
    """The store's case of the site's folders ingested apart, checked to answer as the site's folder does, and
    the folder's case."""
    folder, sources = _site(tmp_path, **site)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ingest(sources, tmp_path / "store", tz=TZ, progress=False)
        direct = exlab.open_case(folder, tz=TZ, roots=ROOTS)
    stored = store_case(tmp_path / "store")
    assert_same_case(stored, direct)
    return stored, direct


def test_the_store_notes_the_date_settled_as_a_read_of_both_folders_does(tmp_path):
    stored, direct = _cases(tmp_path)
    told = _told(stored, "EX01/fl.txt", tmp_path / "site")
    assert told == _told(direct, "EX01/fl.txt", tmp_path / "site")
    assert len(told) == 1 and "tells which pass" not in told[0] and told[0].endswith("as in certs/mail.cer")
    assert stored.frames["certs"]["not_after_later"].isna().all()


def test_a_date_no_file_settles_stays_warned_beside_the_one_settled(tmp_path):
    stored, direct = _cases(tmp_path, other="unsettled")
    told = _told(stored, "EX01/fl.txt", tmp_path / "site")
    assert told == _told(direct, "EX01/fl.txt", tmp_path / "site")
    assert [text.split(": ")[0] for text in told] == ["certificate 1", "the local time 2026-10-25 02:30:00 comes twice "
                                                      "in Europe/Warsaw (its clocks go back over that hour)"]
    assert "1 date(s)" in told[0] and "2026-10-25 00:45:00 or 2026-10-25 01:45:00 UTC" in told[0]


def test_a_date_settled_apart_joins_the_note_of_those_its_batch_settled(tmp_path):
    stored, direct = _cases(tmp_path, other="beside")
    told = _told(stored, "EX01/fl.txt", tmp_path / "site")
    assert told == _told(direct, "EX01/fl.txt", tmp_path / "site")
    assert len(told) == 1 and "2 date(s)" in told[0]
    assert told[0].endswith("(certificate 1) as in EX01/smtp.cer; NotAfter of "
                            f"{stored.certs['thumbprint'].iloc[-1]} (certificate 2) as in certs/mail.cer")
