"""``exlab certs``: the comparison in the terminal and written out as CSV, Parquet and JSON Lines."""

from __future__ import annotations

import base64
import csv
import json
from datetime import datetime, timezone

import pandas as pd
import pytest

from exlab.cli import main
from exlab.lab.pki import LabPki, p7b_bytes, pfx_bytes, roots_pem
from tests.certs.helpers import certnew_p7b

UTC = timezone.utc
AT = "2025-03-20T09:14:02Z"
FORMULA = '=HYPERLINK("http://attacker.example")'


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    pki = LabPki("tests-certs")
    public = pki.server("mail.contoso.com", ["mail.contoso.com", "autodiscover.contoso.com"], ca="public",
                        not_before=datetime(2024, 12, 2, 13, 43, 23, tzinfo=UTC))
    internal = pki.server("mail.contoso.com", ["mail.contoso.com"], ca="internal",
                          not_before=datetime(2025, 3, 14, 8, 2, 5, tzinfo=UTC))
    evidence = tmp_path_factory.mktemp("evidence")
    (evidence / "public.pfx").write_bytes(pfx_bytes(public, "Pa55w0rd!", friendly_name=FORMULA))
    (evidence / "internal.p7b").write_bytes(p7b_bytes(internal.chain))
    (evidence / "Application.evtx").write_bytes(b"ElfFile\x00" + bytes(4088))   # other evidence: passed over
    roots = tmp_path_factory.mktemp("roots") / "lab-public-root.pem"
    roots.write_bytes(roots_pem([pki.public_root]))
    return {"public": public, "internal": internal, "evidence": evidence, "roots": roots}


def _run(lab, *extra: str) -> int:
    return main(["certs", str(lab["evidence"]), "--password", "Pa55w0rd!", "--roots", str(lab["roots"]),
                 "--at", AT, *extra])


def test_comparison_in_the_terminal_marks_the_presented_certificate(lab, capsys):
    assert _run(lab, "--name", "mail.contoso.com") == 0
    out = capsys.readouterr().out
    marked = [line for line in out.splitlines() if line.startswith("->")]
    assert len(marked) == 1 and lab["internal"].thumbprint in marked[0]
    assert "internal" in marked[0] and "NOT trusted by Microsoft 365" in marked[0]
    public_line = next(line for line in out.splitlines() if lab["public"].thumbprint in line and "public" in line)
    assert "trusted by Microsoft 365" in public_line and "NOT" not in public_line
    assert f"Transport: presents {lab['internal'].thumbprint}" in out
    assert "passed over 1 file(s)" in out


def test_tls_certificate_name_option_pins_the_public_certificate(lab, capsys):
    pin = f"<I>{lab['public'].issuer}<S>{lab['public'].subject}"
    assert _run(lab, "--name", "mail.contoso.com", "--tls-certificate-name", pin) == 0
    marked = [line for line in capsys.readouterr().out.splitlines() if line.startswith("->")]
    assert len(marked) == 1 and lab["public"].thumbprint in marked[0]


def test_comparison_as_csv_with_formulas_neutralised(lab, tmp_path, capsys):
    output = tmp_path / "pair.csv"
    assert _run(lab, "--name", "mail.contoso.com", "-o", str(output)) == 0
    raw = output.read_bytes()
    assert b"\r\n" in raw and not raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(output.open(encoding="utf-8", newline="")))
    assert [(r["thumbprint"], r["issuer_class"], r["selected"]) for r in rows] == [
        (lab["internal"].thumbprint, "internal", "True"), (lab["public"].thumbprint, "public", "False")]
    assert rows[1]["friendly_name"] == "'" + FORMULA
    assert rows[0]["not_before"] == "2025-03-14T08:02:05Z"


def test_comparison_as_parquet(lab, tmp_path, capsys):
    output = tmp_path / "pair.parquet"
    assert _run(lab, "--name", "mail.contoso.com", "-o", str(output)) == 0
    table = pd.read_parquet(output)
    assert list(table["issuer_class"]) == ["internal", "public"]
    assert list(table["selected"]) == [True, False]
    assert list(table["thumbprint"]) == [lab["internal"].thumbprint, lab["public"].thumbprint]


def test_without_name_the_certificates_frame_with_trust_as_json_lines(lab, tmp_path, capsys):
    output = tmp_path / "certs.jsonl"
    assert _run(lab, "-o", str(output)) == 0
    records = [json.loads(line) for line in output.read_text(encoding="utf-8").splitlines()]
    by_thumbprint = {r["thumbprint"]: r for r in records}
    assert len(records) == 6   # each .pfx and .p7b carries its leaf, issuing CA and root
    internal = by_thumbprint[lab["internal"].thumbprint]
    assert internal["issuer_class"] == "internal" and internal["trusted_by_microsoft365"] is False
    assert base64.b64decode(internal["der"]) == lab["internal"].der   # byte-exact
    assert internal["chain"][0] == "CN=mail.contoso.com" and len(internal["chain"]) == 3
    assert by_thumbprint[lab["public"].thumbprint]["issuer_class"] == "public"
    assert "6 certificate(s)" in capsys.readouterr().out


@pytest.mark.parametrize("extra, message", [
    (["--at", "yesterday-ish"], "expected a time such as"),
    (["-o", "out.xlsx"], "expected an output file ending in .csv, .parquet, .jsonl"),
])
def test_bad_options_are_exlab_errors(lab, capsys, extra, message):
    assert _run(lab, *extra) == 1
    assert message in capsys.readouterr().err


def test_never_writes_into_the_evidence(lab, capsys):
    target = lab["evidence"] / "out.csv"
    assert _run(lab, "-o", str(target)) == 1
    assert "outside the evidence" in capsys.readouterr().err
    assert not target.exists()


def test_missing_evidence_is_reported(tmp_path, capsys):
    assert main(["certs", str(tmp_path / "nothing")]) == 1
    assert "nothing" in capsys.readouterr().err


BROKEN_PEM = b"-----BEGIN CERTIFICATE-----\r\nAAAA\r\n-----END CERTIFICATE-----\r\n"


def test_a_refused_file_in_the_folder_is_named_and_the_others_are_read(lab, tmp_path, capsys):
    # AD CS's certnew.p7b (PKCS#7 under CERTIFICATE lines) is read; a damaged PEM beside it is named, not fatal
    evidence = tmp_path / "evidence"
    evidence.mkdir()
    (evidence / "certnew.p7b").write_bytes(certnew_p7b(lab["internal"].chain))
    (evidence / "public.cer").write_bytes(lab["public"].der)
    (evidence / "broken.pem").write_bytes(BROKEN_PEM)
    assert main(["certs", str(evidence), "--roots", str(lab["roots"]), "--at", AT, "--name", "mail.contoso.com"]) == 0
    captured = capsys.readouterr()
    assert f"not read: {evidence / 'broken.pem'}, PEM block 1 (line 1): expected an X.509 certificate" in captured.out
    marked = [line for line in captured.out.splitlines() if line.startswith("->")]
    assert len(marked) == 1 and lab["internal"].thumbprint in marked[0]
    assert lab["public"].thumbprint in captured.out
    assert f"{evidence / 'broken.pem'} PEM block 1 (line 1): not read: expected an X.509 certificate" in captured.err


def test_a_single_refused_file_still_stops_the_command(tmp_path, capsys):
    (tmp_path / "broken.pem").write_bytes(BROKEN_PEM)
    assert main(["certs", str(tmp_path / "broken.pem")]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert f"exlab: {tmp_path / 'broken.pem'}, PEM block 1 (line 1): expected an X.509 certificate" in captured.err
