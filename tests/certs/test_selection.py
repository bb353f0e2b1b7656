"""select_outbound: the certificate the transport presents to Exchange Online, and why."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import pandas as pd
import pytest

from exlab.certs import read_certs
from exlab.certs.schema import certs_frame
from exlab.certs.selection import (
    OutboundChoice,
    parse_tls_certificate_name,
    select_outbound,
)
from exlab.certs.trust import judge_trust
from exlab.lab.pki import LabPki, cer_bytes

UTC = timezone.utc
FAILURE = "2025-03-20T09:14:02Z"
ALL = ("IMAP", "POP", "IIS", "SMTP")


@pytest.fixture(scope="module")
def pki() -> LabPki:
    return LabPki("tests-certs")


@pytest.fixture(scope="module")
def server(pki, tmp_path_factory):
    """The KB 2888788 server's personal store, as .cer files plus what Get-ExchangeCertificate said."""
    made = {
        "public": pki.server("mail.contoso.com", ["mail.contoso.com", "autodiscover.contoso.com"], ca="public",
                             not_before=datetime(2024, 12, 2, 13, 43, 23, tzinfo=UTC)),
        "internal": pki.server("mail.contoso.com", ["mail.contoso.com", "exchange.contoso.com"], ca="internal",
                               not_before=datetime(2025, 3, 14, 8, 2, 5, tzinfo=UTC)),
        "self": pki.exchange_self_signed("EX01", "ex01.contoso.com", not_before=datetime(2021, 2, 1, tzinfo=UTC)),
        "auth": pki.exchange_auth(not_before=datetime(2021, 2, 1, tzinfo=UTC)),
    }
    folder = tmp_path_factory.mktemp("store")
    for key, cert in made.items():
        (folder / f"{key}.cer").write_bytes(cer_bytes(cert))
    frame = read_certs(folder)
    services = {"public": ("IIS", "SMTP"), "internal": ALL, "self": ALL, "auth": ("SMTP",)}
    frame = _set(frame, "services", {made[k].thumbprint: v for k, v in services.items()})
    frame = _set(frame, "has_private_key", {c.thumbprint: True for c in made.values()})
    return made, frame


def _set(frame: pd.DataFrame, column: str, values: dict) -> pd.DataFrame:
    """A copy with ``column`` set for the given thumbprints (tuples kept whole)."""
    out = frame.copy()
    column_values = pd.Series(list(out[column]), index=out.index, dtype=out[column].dtype)
    for i, thumbprint in enumerate(out["thumbprint"]):
        if thumbprint in values:
            column_values.iat[i] = values[thumbprint]
    out[column] = column_values
    return out


def _why(choice: OutboundChoice, thumbprint: str) -> str:
    return choice.candidates.set_index("thumbprint").loc[thumbprint, "why"]


def test_the_newest_smtp_certificate_for_the_name_wins_kb2888788(server):
    made, frame = server
    choice = select_outbound(frame, server_fqdn="ex01.contoso.com", connector_fqdn="mail.contoso.com", at=FAILURE)
    assert choice.thumbprint == made["internal"].thumbprint
    assert (choice.rule, choice.name, choice.tls_certificate_name_missing) == \
        ("newest valid candidate", "mail.contoso.com", False)
    candidates = choice.candidates
    assert list(candidates["thumbprint"][:2]) == [made["internal"].thumbprint, made["public"].thumbprint]
    assert list(candidates["rank"][:2]) == [1, 2] and candidates["rank"][2:].isna().all()
    assert list(candidates["taken"]) == [True, False, False, False]
    assert _why(choice, made["auth"].thumbprint) == "does not cover mail.contoso.com"
    assert _why(choice, made["self"].thumbprint) == "does not cover mail.contoso.com"
    assert "newest" in _why(choice, made["internal"].thumbprint)
    assert f"->  1 {made['internal'].thumbprint}" in str(choice) and "connector Fqdn" in choice.summary


def test_after_the_fix_the_public_certificate_is_presented(server):
    made, frame = server
    fixed = _set(frame, "services", {made["internal"].thumbprint: ("IMAP", "POP", "IIS")})
    choice = select_outbound(fixed, server_fqdn="mail.contoso.com", at=FAILURE)
    assert choice.thumbprint == made["public"].thumbprint
    assert _why(choice, made["internal"].thumbprint) == "not enabled for SMTP"
    assert "server FQDN" in choice.summary


def test_tls_certificate_name_overrides_the_newest(server):
    made, frame = server
    pinned = f"<I>{made['public'].issuer}<S>{made['public'].subject}"
    choice = select_outbound(frame, server_fqdn="ex01.contoso.com", connector_fqdn="mail.contoso.com",
                             tls_certificate_name=pinned, at=FAILURE)
    assert choice.thumbprint == made["public"].thumbprint
    assert (choice.rule, choice.tls_certificate_name_missing) == ("TlsCertificateName", False)
    assert _why(choice, made["internal"].thumbprint) == "not the certificate TlsCertificateName names"
    # Exchange compares names, not spacing or case
    loose = pinned.replace(", ", ",").upper().replace("<I>", "<I>").replace("<S>", "<S>")
    assert select_outbound(frame, server_fqdn="x", tls_certificate_name=loose, at=FAILURE).thumbprint == \
        made["public"].thumbprint


def test_a_missing_tls_certificate_name_target_is_reported(server):
    made, frame = server
    gone = "<I>CN=exlab Lab Public Server CA 02, O=exlab lab, C=US<S>CN=mail.contoso.com, O=Contoso, C=US"
    choice = select_outbound(frame, server_fqdn="mail.contoso.com", tls_certificate_name=gone, at=FAILURE)
    assert choice.thumbprint is None and choice.tls_certificate_name_missing is True
    assert "454 4.7.5" in choice.summary and "12014" in choice.summary
    assert choice.candidates["taken"].sum() == 0 and len(choice.candidates) == 4


def test_self_signed_only_as_a_fallback(server):
    made, frame = server
    choice = select_outbound(frame, server_fqdn="ex01.contoso.com", at=FAILURE)
    assert (choice.thumbprint, choice.rule) == (made["self"].thumbprint, "self-signed fallback")
    newer_self = LabPki("tests-certs").exchange_self_signed("mail.contoso.com", "mail.contoso.com",
                                                                not_before=datetime(2025, 3, 18, tzinfo=UTC))
    extra = certs_frame([{"thumbprint": newer_self.thumbprint, "subject": newer_self.subject,
                          "issuer": newer_self.issuer, "dns_names": ("mail.contoso.com",),
                          "not_before": pd.Timestamp("2025-03-18", tz="UTC"),
                          "not_after": pd.Timestamp("2030-03-18", tz="UTC"), "is_self_signed": True,
                          "has_private_key": True, "services": ALL, "server_auth": True}])
    choice = select_outbound(pd.concat([frame, extra], ignore_index=True), server_fqdn="mail.contoso.com", at=FAILURE)
    assert choice.thumbprint == made["internal"].thumbprint
    ranks = choice.candidates.set_index("thumbprint")["rank"]
    assert ranks[newer_self.thumbprint] == 3   # after both CA-issued ones although it is the newest


def test_expired_and_not_yet_valid_certificates_are_skipped(server):
    made, frame = server
    before_internal = select_outbound(frame, server_fqdn="mail.contoso.com", at="2025-03-01")
    assert before_internal.thumbprint == made["public"].thumbprint
    assert _why(before_internal, made["internal"].thumbprint) == "not yet valid (2025-03-14)"
    late = select_outbound(frame, server_fqdn="mail.contoso.com", at="2027-01-01")
    assert late.thumbprint == made["internal"].thumbprint
    assert _why(late, made["public"].thumbprint) == "expired on 2026-12-02"


def test_private_key_server_auth_and_status(server):
    made, frame = server
    internal = made["internal"].thumbprint
    no_key = select_outbound(_set(frame, "has_private_key", {internal: False}), server_fqdn="mail.contoso.com",
                             at=FAILURE)
    assert no_key.thumbprint == made["public"].thumbprint and _why(no_key, internal) == "has no private key"
    unknown = select_outbound(_set(frame, "has_private_key", {internal: None}), server_fqdn="mail.contoso.com",
                              at=FAILURE)
    assert unknown.thumbprint == internal and "private key unknown" in _why(unknown, internal)
    no_eku = select_outbound(_set(frame, "server_auth", {internal: False}), server_fqdn="mail.contoso.com", at=FAILURE)
    assert no_eku.thumbprint == made["public"].thumbprint
    revoked = select_outbound(_set(frame, "status", {internal: "Revoked"}), server_fqdn="mail.contoso.com", at=FAILURE)
    assert _why(revoked, internal) == "Exchange reported Status=Revoked"


def test_status_date_invalid_of_an_export_made_after_expiry_does_not_judge_an_earlier_failure(server):
    """Exchange computes Status when the export runs: a certificate exported after it expired says
    DateInvalid, but at the failure, before it expired, the transport could present it."""
    made, frame = server
    internal = made["internal"].thumbprint
    exported_late = _set(frame, "status", {internal: "DateInvalid"})
    choice = select_outbound(exported_late, server_fqdn="mail.contoso.com", at=FAILURE)
    assert choice.thumbprint == internal
    late = select_outbound(exported_late, server_fqdn="mail.contoso.com", at="2027-03-20")
    assert _why(late, internal) == "expired on 2027-03-14"


def test_wildcard_and_unknown_services_are_candidates_with_a_note():
    frame = certs_frame([{"thumbprint": "C" * 40, "subject": "CN=*.contoso.com", "issuer": "CN=Fabrikam CA",
                          "dns_names": ("*.contoso.com",), "not_before": pd.Timestamp("2025-01-01", tz="UTC"),
                          "not_after": pd.Timestamp("2026-01-01", tz="UTC"), "is_self_signed": False}])
    choice = select_outbound(frame, server_fqdn="mail.contoso.com", at=FAILURE)
    assert choice.thumbprint == "C" * 40
    why = _why(choice, "C" * 40)
    assert "services unknown" in why and "private key unknown" in why and "server authentication unknown" in why
    assert select_outbound(frame, server_fqdn="contoso.com", at=FAILURE).rule == "no candidate"


def test_html_and_text_views_escape_evidence():
    frame = certs_frame([{"thumbprint": "D" * 40, "subject": "CN=<script>alert(1)</script>", "issuer": "CN=x",
                          "dns_names": ("mail.contoso.com",), "services": ("SMTP",)}])
    choice = select_outbound(frame, server_fqdn="mail.contoso.com", at=FAILURE)
    page = choice._repr_html_()
    assert "<script>" not in page and "&lt;script&gt;" in page
    assert "CN=<script>alert(1)</script>" in str(choice)   # the terminal shows text as is


def test_parse_tls_certificate_name():
    assert parse_tls_certificate_name("<I>CN=CA, O=X<S>CN=mail.contoso.com") == ("CN=CA, O=X", "CN=mail.contoso.com")
    assert parse_tls_certificate_name("mail.contoso.com") is None


def _kb2888788_cases() -> list[Path]:
    import json

    from tests.conftest import SAMPLES

    return sorted(p.parent for p in SAMPLES.glob("*/truth.json")
                  if json.loads(p.read_text(encoding="utf-8"))["cause"] == "kb2888788")


@pytest.mark.parametrize("case", _kb2888788_cases(), ids=lambda p: p.name)
def test_lab_kb2888788_cases_predict_the_culprit(case):
    import json

    from exlab.commands.certs import certificate_files

    truth = json.loads((case / "truth.json").read_text(encoding="utf-8"))
    files = [f for f in certificate_files([case])[0] if f.name != "truth.json"]
    certs = read_certs(files, tz=truth["tz"])
    culprit = next(c for c in truth["certificates"] if c["thumbprint"] == truth["culprit"])
    name = culprit["subject"].split(",")[0].removeprefix("CN=")
    choice = select_outbound(certs, server_fqdn=truth["server_fqdn"], connector_fqdn=name, at=truth["onset"])
    assert (choice.thumbprint, choice.rule) == (truth["culprit"], "newest valid candidate")
    runner_up = choice.candidates[choice.candidates["rank"] == 2]
    assert len(runner_up) == 1   # the public certificate it should have presented


def test_sha1_self_signed_certificates_are_only_a_fallback_judged_from_their_der(pki, server, tmp_path):
    """A newer SHA-1 self-signed certificate for the name, read from its .cer (is_self_signed from
    the DER, not set by hand), ranks after the public and internal ones; alone it is the fallback."""
    made, frame = server
    newest = pki.exchange_self_signed("MAIL", "mail.contoso.com", not_before=datetime(2025, 3, 18, tzinfo=UTC))
    (tmp_path / "newest.cer").write_bytes(cer_bytes(newest))
    extra = _set(_set(read_certs(tmp_path), "services", {newest.thumbprint: ALL}), "has_private_key",
                 {newest.thumbprint: True})
    store = judge_trust(pd.concat([frame, extra], ignore_index=True), at=FAILURE)
    by_thumbprint = store.set_index("thumbprint")
    for key in ("self", "auth"):
        assert by_thumbprint.loc[made[key].thumbprint, ["signature_hash", "issuer_class"]].tolist() == \
            ["sha1", "self-signed"]
    assert by_thumbprint.loc[newest.thumbprint, ["signature_hash", "is_self_signed"]].tolist() == ["sha1", True]
    choice = select_outbound(store, server_fqdn="mail.contoso.com", at=FAILURE)
    assert (choice.thumbprint, choice.rule) == (made["internal"].thumbprint, "newest valid candidate")
    ranks = choice.candidates.set_index("thumbprint")["rank"]
    assert [ranks[made[k].thumbprint] for k in ("internal", "public")] + [ranks[newest.thumbprint]] == [1, 2, 3]
    assert _why(choice, newest.thumbprint).startswith("self-signed, only a fallback")
    after_the_fix = _set(store, "services", {made["internal"].thumbprint: ("IIS",)})
    assert select_outbound(after_the_fix, server_fqdn="mail.contoso.com", at=FAILURE).thumbprint == \
        made["public"].thumbprint
    only_self = store[store["thumbprint"].isin([newest.thumbprint, made["self"].thumbprint])]
    fallback = select_outbound(only_self, server_fqdn="mail.contoso.com", at=FAILURE)
    assert (fallback.thumbprint, fallback.rule) == (newest.thumbprint, "self-signed fallback")
