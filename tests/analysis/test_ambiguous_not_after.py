"""A date Get-ExchangeCertificate | fl printed in the hour the clocks go back over, that no certificate file
settles, is uncertain by that hour: where the hour changes the answer (the certificate usable or not when
mail failed, or which of two certificates is the newer), the diagnosis says so; elsewhere it answers as
before."""

from __future__ import annotations

import warnings
from datetime import datetime, timezone

import pandas as pd
import pytest

import exlab
from exlab.analysis.diagnose import diagnose
from exlab.analysis.remediation import collect_step
from exlab.lab.cert_exports import ExchangeCert, write_list
from exlab.lab.pki import LabPki, roots_pem
from tests.analysis import frames as f

TZ = "Europe/Warsaw"
NAME = "mail.contoso.com"
# 2026-10-25 02:30 in Warsaw comes twice: 00:30 UTC (summer time), then 01:30 UTC
FIRST, SECOND = datetime(2026, 10, 25, 0, 30, tzinfo=timezone.utc), datetime(2026, 10, 25, 1, 30, tzinfo=timezone.utc)
UNSETTLED = ("printed in the hour the clocks go back over, and no file with the certificate's exact times "
             "(its .cer or .pem) tells which pass")


def _pair(internal_dates: dict, public_dates: dict):
    pki = LabPki("tests-ambiguous-not-after")
    public = pki.server(NAME, [NAME], ca="public", label="public", **public_dates)
    internal = pki.server(NAME, [NAME], ca="internal", label="internal", **internal_dates)
    return pki, public, internal


def _diagnose(tmp_path, pki, public, internal, *failed_at: str, cer=()) -> tuple[pd.DataFrame, exlab.Diagnosis]:
    """The diagnosis of both certificates' Format-List (the internal one newer, enabled for SMTP), the
    certificate files ``cer`` beside it, and an UntrustedRoot failure at each of ``failed_at``."""
    write_list([ExchangeCert(public.certificate, services=("IIS", "SMTP")),
                ExchangeCert(internal.certificate, services=("IMAP", "POP", "IIS", "SMTP"), root_ca_type="Enterprise")],
               tmp_path / "fl.txt", tz=TZ)
    for made in cer:
        (tmp_path / f"{made.thumbprint}.cer").write_bytes(made.der)
    roots = tmp_path.parent / f"{tmp_path.name}-roots.pem"
    roots.write_bytes(roots_pem([pki.public_root]))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        certs = exlab.read_certs(tmp_path, tz=TZ)
    failed = f.failures(*((time, f.UNTRUSTED) for time in failed_at))
    return certs, diagnose(failures=failed, certs=certs, server_fqdn=NAME, roots=roots)


def _unsure(diagnosis) -> list[str]:
    return [note for note in diagnosis.notes if UNSETTLED in note]


@pytest.fixture
def expiring():
    """The internal certificate expires at 01:30 UTC, printed as 02:30 in Warsaw: read as 00:30 UTC."""
    return _pair({"not_before": datetime(2025, 3, 14, 8, tzinfo=timezone.utc), "not_after": SECOND},
                 {"not_before": datetime(2025, 1, 10, 9, tzinfo=timezone.utc)})


def test_a_failure_inside_the_hour_of_an_unsettled_not_after_is_said_unsure(tmp_path, expiring):
    pki, public, internal = expiring
    certs, d = _diagnose(tmp_path, pki, public, internal, "2026-10-25 01:00")
    later = dict(zip(certs["thumbprint"], certs["not_after_later"]))
    assert later[internal.thumbprint] == pd.Timestamp(SECOND) and pd.isna(later[public.thumbprint])
    assert _unsure(d) == [
        f"whether {internal.thumbprint} could be used at 2026-10-25 01:00:00 UTC is unsure: its NotAfter is "
        f"2026-10-25 00:30:00 or 2026-10-25 01:30:00 UTC, {UNSETTLED}: read as the first, expired on 2026-10-25; as "
        f"the second, usable, and the transport presents {internal.thumbprint} instead of {public.thumbprint}"]
    assert collect_step("certs") in d.missing       # its .cer settles it
    assert d.verdict == "inconclusive"


def test_the_certificate_file_settles_it_and_the_diagnosis_answers_without_a_doubt(tmp_path, expiring):
    pki, public, internal = expiring
    certs, d = _diagnose(tmp_path, pki, public, internal, "2026-10-25 01:00", cer=[internal])
    assert certs["not_after_later"].isna().all()
    assert _unsure(d) == []
    assert (d.verdict, d.strength, d.selected) == ("confirmed", "strong", internal.thumbprint)


def test_a_first_failure_inside_the_hour_is_said_unsure_where_the_look_alikes_judge_the_certificates(
        tmp_path, expiring):
    """Validity is judged at the last failure (03:00: the internal certificate expired either way, the public
    one presented); the first (01:00) is where an expired certificate would be the cause: unsure there."""
    pki, public, internal = expiring
    _, d = _diagnose(tmp_path, pki, public, internal, "2026-10-25 01:00", "2026-10-25 03:00")
    assert d.selected == public.thumbprint
    assert _unsure(d) == [
        f"whether {internal.thumbprint} could be used at 2026-10-25 01:00:00 UTC is unsure: its NotAfter is "
        f"2026-10-25 00:30:00 or 2026-10-25 01:30:00 UTC, {UNSETTLED}: read as the first, expired on 2026-10-25; as "
        "the second, usable"]


@pytest.mark.parametrize("failed_at", ["2026-10-25 00:10", "2026-10-25 02:00"], ids=["before-both", "after-both"])
def test_a_failure_outside_the_hour_leaves_the_answer_as_sure_as_before(tmp_path, expiring, failed_at):
    pki, public, internal = expiring
    certs, d = _diagnose(tmp_path, pki, public, internal, failed_at)
    assert _unsure(d) == []
    plain = diagnose(failures=f.failures((failed_at, f.UNTRUSTED)), server_fqdn=NAME,
                     certs=certs.drop(columns=["not_before_later", "not_after_later"]),
                     roots=tmp_path.parent / f"{tmp_path.name}-roots.pem")
    # the answer is as sure as before: all but the evidence rows, which still say the date's two readings
    mine, theirs = d.to_dict(), plain.to_dict()
    assert {k: v for k, v in mine.items() if k != "evidence"} == {k: v for k, v in theirs.items() if k != "evidence"}
    summaries = [[(e["rule"], e["summary"]) for e in answer["evidence"]] for answer in (mine, theirs)]
    assert summaries[0] == summaries[1]


def test_a_not_before_whose_hour_could_make_the_internal_certificate_the_newer_is_said_unsure(tmp_path):
    """The public certificate's NotBefore is 01:00 UTC (its .cer says so exactly); the internal one's was
    printed as 02:30 in Warsaw on 2025-10-26: 00:30 UTC (older, the public one presented) or 01:30 UTC
    (newer, presented instead)."""
    pki, public, internal = _pair({"not_before": datetime(2025, 10, 26, 1, 30, tzinfo=timezone.utc)},
                                  {"not_before": datetime(2025, 10, 26, 1, 0, tzinfo=timezone.utc)})
    _, d = _diagnose(tmp_path, pki, public, internal, "2025-11-03 10:00", cer=[public])
    assert d.selected == public.thumbprint
    assert _unsure(d) == [
        f"whether {internal.thumbprint} is newer than {public.thumbprint}, the one presented, is unsure: "
        f"{internal.thumbprint}'s NotBefore is 2025-10-26 00:30:00 or 2025-10-26 01:30:00 UTC, {UNSETTLED}: the "
        f"transport may present {internal.thumbprint} instead"]
