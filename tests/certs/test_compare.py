"""compare_issuers: the KB 2888788 pair side by side, with issuer class and the transport's choice."""

from __future__ import annotations

from datetime import datetime, timezone

import pandas as pd
import pytest

from exlab.certs import read_certs
from exlab.certs.compare import COMPARISON_COLUMNS, compare_issuers
from exlab.certs.trust import judge_trust
from exlab.lab.pki import LabPki, cer_bytes, p7b_bytes, roots_pem

UTC = timezone.utc
FAILURE = "2025-03-20T09:14:02Z"


@pytest.fixture(scope="module")
def case(tmp_path_factory):
    pki = LabPki("tests-certs")
    public = pki.server("mail.contoso.com", ["mail.contoso.com", "autodiscover.contoso.com"], ca="public",
                        not_before=datetime(2024, 12, 2, 13, 43, 23, tzinfo=UTC))
    internal = pki.server("mail.contoso.com", ["mail.contoso.com", "exchange.contoso.com"], ca="internal",
                          not_before=datetime(2025, 3, 14, 8, 2, 5, tzinfo=UTC))
    expired = pki.server("mail.contoso.com", ["mail.contoso.com"], ca="public",
                         not_before=datetime(2022, 11, 1, tzinfo=UTC), not_after=datetime(2024, 11, 30, tzinfo=UTC))
    made = pki.exchange_self_signed("EX01", "ex01.contoso.com", not_before=datetime(2021, 2, 1, tzinfo=UTC))
    folder = tmp_path_factory.mktemp("evidence")
    (folder / "public.p7b").write_bytes(p7b_bytes(public.chain[:2]))
    (folder / "internal.p7b").write_bytes(p7b_bytes(internal.chain))
    (folder / "expired.cer").write_bytes(cer_bytes(expired))
    (folder / "self.cer").write_bytes(cer_bytes(made))
    roots = tmp_path_factory.mktemp("roots") / "lab-public-root.pem"
    roots.write_bytes(roots_pem([pki.public_root]))
    frame = read_certs(folder)
    services = {public.thumbprint: ("IIS", "SMTP"), internal.thumbprint: ("IMAP", "POP", "IIS", "SMTP"),
                expired.thumbprint: ("SMTP",), made.thumbprint: ("IMAP", "POP", "IIS", "SMTP")}
    frame["services"] = pd.Series([services.get(t) for t in frame["thumbprint"]], index=frame.index, dtype=object)
    return {"public": public, "internal": internal, "expired": expired, "self": made}, frame, roots


def test_kb2888788_pair_side_by_side(case):
    made, frame, roots = case
    table = compare_issuers(frame, "mail.contoso.com", roots=roots, at=FAILURE)
    assert tuple(table.columns) == COMPARISON_COLUMNS
    assert list(table["thumbprint"]) == [made["internal"].thumbprint, made["public"].thumbprint,
                                         made["expired"].thumbprint]   # newest first, covering only
    assert list(table["issuer_class"]) == ["internal", "public", "public"]
    assert list(table["selected"]) == [True, False, False]
    assert list(table["trusted_by_microsoft365"]) == [False, True, True]
    assert list(table["valid_at"]) == [True, True, False]
    assert table.loc[0, "root_subject"] == "CN=Contoso Root CA, DC=contoso, DC=com"
    assert table.loc[0, "services"] == ("IMAP", "POP", "IIS", "SMTP")
    assert table.attrs["outbound"].startswith(f"presents {made['internal'].thumbprint}")


def test_pinning_the_public_certificate_changes_the_selection(case):
    made, frame, roots = case
    pin = f"<I>{made['public'].issuer}<S>{made['public'].subject}"
    table = compare_issuers(frame, "mail.contoso.com", roots=roots, at=FAILURE, tls_certificate_name=pin)
    assert table.set_index("thumbprint")["selected"].to_dict() == {
        made["internal"].thumbprint: False, made["public"].thumbprint: True, made["expired"].thumbprint: False}


def test_a_frame_already_judged_keeps_its_trust_columns(case):
    made, frame, roots = case
    judged = judge_trust(frame, roots=roots, at=FAILURE)
    table = compare_issuers(judged, "mail.contoso.com", at=FAILURE)   # no roots: the judged columns are used
    assert list(table["issuer_class"]) == ["internal", "public", "public"]
    unjudged = compare_issuers(frame, "mail.contoso.com", at=FAILURE)   # without the lab root: no anchor
    assert list(unjudged["issuer_class"]) == ["internal", "unknown", "unknown"]


def test_a_name_nothing_covers_gives_an_empty_table(case):
    _, frame, roots = case
    table = compare_issuers(frame, "owa.fabrikam.com", roots=roots, at=FAILURE)
    assert table.empty and tuple(table.columns) == COMPARISON_COLUMNS
    assert table.attrs["outbound"].startswith("no certificate qualifies for owa.fabrikam.com")


def test_the_lab_case_selection_matches_its_ground_truth():
    import json

    from tests.conftest import SAMPLES

    case = SAMPLES / "contoso-kb2888788"
    if not (case / "truth.json").is_file():
        pytest.skip("lab case contoso-kb2888788 not generated")
    truth = json.loads((case / "truth.json").read_text(encoding="utf-8"))
    certs = read_certs(case / "certs", tz=truth["tz"])
    table = compare_issuers(certs, "mail.contoso.com", roots=case / truth["roots"], at=truth["onset"])
    assert table.loc[table["selected"].fillna(False).astype(bool), "thumbprint"].tolist() == [truth["culprit"]]
    expected = {c["thumbprint"]: c["issuer_class"] for c in truth["certificates"]}
    judged = table[table["issuer_class"] != "unknown"]   # only where the exported evidence allows a chain
    assert {t: expected[t] for t in judged["thumbprint"]} == dict(zip(judged["thumbprint"], judged["issuer_class"]))


def test_no_certificates_gives_an_empty_table_with_the_contract_dtypes():
    from exlab.certs.schema import certs_frame

    table = compare_issuers(certs_frame([]), "mail.contoso.com", at=FAILURE)
    assert table.empty and tuple(table.columns) == COMPARISON_COLUMNS
    assert str(table["selected"].dtype) == "boolean" and str(table["not_before"].dtype) == "datetime64[ns, UTC]"


def test_exchanges_sha1_self_signed_certificate_side_by_side_is_the_fallback(case):
    made, frame, roots = case
    table = compare_issuers(frame, "ex01.contoso.com", roots=roots, at=FAILURE)
    assert list(table["thumbprint"]) == [made["self"].thumbprint]
    assert (table.loc[0, "issuer_class"], bool(table.loc[0, "selected"])) == ("self-signed", True)
    assert table.loc[0, "trust_basis"] == "self-signed: its own key verifies its signature; signed with SHA-1"
    assert table.attrs["outbound"].endswith("for ex01.contoso.com (server FQDN), self-signed fallback "
                                            "at 2025-03-20T09:14:02+00:00")
