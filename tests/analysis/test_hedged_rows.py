"""A certificate's evidence row (``rules.certificate_row``: what the report and the notebooks show) gives a
date left unsettled in the hour the clocks go back over with both its readings and says why, as the
diagnosis's notes do; a date that is sure reads as before."""

from __future__ import annotations

from datetime import datetime, timezone

import pandas as pd
import pytest

from exlab.analysis.rules import certificate_row
from tests.analysis.test_ambiguous_not_after import SECOND, UNSETTLED, _diagnose, _pair

FIRST_NB, SECOND_NB = pd.Timestamp("2025-10-26 00:30", tz="UTC"), pd.Timestamp("2025-10-26 01:30", tz="UTC")
FIRST_NA, SECOND_NA = pd.Timestamp("2026-10-25 00:30", tz="UTC"), pd.Timestamp("2026-10-25 01:30", tz="UTC")


def _validity(**later) -> str:
    cert = {"thumbprint": "AB" * 20, "subject": "CN=mail", "issuer": "CN=CA", "not_before": FIRST_NB,
            "not_after": FIRST_NA, "not_before_later": pd.NaT, "not_after_later": pd.NaT, **later}
    return next(part for part in certificate_row(cert)["detail"].split("; ") if part.startswith("valid "))


@pytest.mark.parametrize(("later", "said"), [
    ({"not_after_later": SECOND_NA},
     f"valid {FIRST_NB} to {FIRST_NA} or {SECOND_NA} (NotAfter {UNSETTLED})"),
    ({"not_before_later": SECOND_NB},
     f"valid {FIRST_NB} or {SECOND_NB} to {FIRST_NA} (NotBefore {UNSETTLED})"),
    ({"not_before_later": SECOND_NB, "not_after_later": SECOND_NA},
     f"valid {FIRST_NB} or {SECOND_NB} to {FIRST_NA} or {SECOND_NA} (NotBefore and NotAfter {UNSETTLED})"),
], ids=["not-after", "not-before", "both"])
def test_a_date_with_a_second_reading_is_given_with_it(later, said):
    assert _validity(**later) == said


def test_sure_dates_read_as_before():
    assert _validity() == f"valid {FIRST_NB} to {FIRST_NA}"


@pytest.mark.parametrize("settled", [False, True], ids=["unsettled", "settled-by-its-cer"])
def test_the_diagnosis_shows_the_certificate_presented_with_its_unsettled_not_after(tmp_path, settled):
    # a failure before both readings: the internal certificate is usable either way, and presented
    pki, public, internal = _pair({"not_before": datetime(2025, 3, 14, 8, tzinfo=timezone.utc), "not_after": SECOND},
                                  {"not_before": datetime(2025, 1, 10, 9, tzinfo=timezone.utc)})
    _, d = _diagnose(tmp_path, pki, public, internal, "2026-10-25 00:10", cer=[internal] if settled else ())
    assert d.selected == internal.thumbprint
    shown = {row["detail"] for finding in d.evidence for row in finding.evidence.to_dict("records")
             if row["kind"] == "certificate" and row["where"] == f"thumbprint {internal.thumbprint}"}
    assert shown
    end = f"to {SECOND_NA}" if settled else f"to {FIRST_NA} or {SECOND_NA} (NotAfter {UNSETTLED})"
    assert all(f"valid 2025-03-14 08:00:00+00:00 {end}; " in detail for detail in shown), shown
