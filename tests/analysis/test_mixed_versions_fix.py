"""A mixed organization: the failing Exchange 2010 server holds no public certificate, the Exchange 2016 server
beside it holds one (same name, public CA, usable, with its private key).

The 2010 server's diagnosis said "no certificate of the evidence is fit ...; the fix starts with a new
certificate" and gave a placeholder thumbprint and pin. An engineer copies the certificate the other server
has: the fix now exports it there and imports it on the failing server with commands one version's cmdlets
cannot break (Export-ExchangeCertificate's -FileName is in 2013 only; -FileData of Import-ExchangeCertificate
is in every version), then enables it for SMTP and pins it by its real issuer and subject.

``peers`` (the case's certificates) reach ``diagnose`` / ``conclude`` directly here, and through
``Case.diagnose_servers`` (every server's certificates are the peers of each server's diagnosis).
"""

from __future__ import annotations

import warnings

import pytest

import exlab
from exlab.analysis.diagnose import diagnose
from exlab.attribution import rows_of
from tests.transport.test_legacy_logs import INTERNAL, PUBLIC
from tests.transport.test_legacy_mixed_case import _mixed_case

EX2010, EX2016 = "ex2010.contoso.com", "ex2016.contoso.com"
PFX = f"C:\\exlab\\{PUBLIC[2]}.pfx"
PASSWORD = "-Password (Read-Host 'PFX password' -AsSecureString)"


@pytest.fixture(scope="module")
def case(tmp_path_factory) -> exlab.Case:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return exlab.open_case(_mixed_case(tmp_path_factory.mktemp("mixed") / "case", failing="EX2010"),
                               tz="America/New_York")


def _diagnose_2010(case: exlab.Case, **kwargs):
    """EX2010's diagnosis as the case makes it (its own rows), with ``kwargs``."""
    frames = {kind: rows_of(case.frames.get(kind), [EX2010]) for kind in ("events", "sessions", "tracking")}
    return diagnose(**frames, certs=rows_of(case.certs, [EX2010]), connectors=case.connectors, servers=case.servers,
                    server_fqdn=EX2010, server=EX2010, connector=case.connector, roots=case.roots, **kwargs)


def test_the_failing_server_copies_the_public_certificate_of_the_other_server(case):
    d = _diagnose_2010(case, peers=case.certs)
    assert (d.verdict, d.cause, d.culprit, d.public) == ("confirmed", "kb2888788", INTERNAL[2], PUBLIC[2])
    commands = [step.command for step in d.remediation if step.command]
    assert commands[:4] == [
        # exported on 2016 in a form every version writes: the FileData the cmdlet returns
        f"New-Item -ItemType Directory -Force C:\\exlab | Out-Null; $pfx = Export-ExchangeCertificate -Thumbprint "
        f"{PUBLIC[2]} -Server {EX2016} -BinaryEncoded {PASSWORD}; [System.IO.File]::WriteAllBytes('{PFX}', "
        "$pfx.FileData)",
        # imported on 2010 with -FileData (2010 has no -FileName)
        f"Import-ExchangeCertificate -Server {EX2010} -FileData ([System.IO.File]::ReadAllBytes('{PFX}')) {PASSWORD}",
        f"Enable-ExchangeCertificate -Thumbprint {PUBLIC[2]} -Server {EX2010} -Services SMTP",
        f"Set-SendConnector 'Outbound to Office 365' -TlsCertificateName '<I>{PUBLIC[1]}<S>{PUBLIC[0]}'",
    ]
    assert f"Enable-ExchangeCertificate -Thumbprint {INTERNAL[2]} -Server {EX2010} -Services IMAP,POP,IIS" in commands
    assert not any("<public thumbprint>" in c or "<issuer>" in c for c in commands)
    export, load = d.remediation[:2]
    assert export.purpose.startswith(f"On {EX2016}, in an Exchange Management Shell of its version: export the "
                                     f"public certificate {PUBLIC[2]} with its private key")
    assert "-FileName is in 2013 only" in export.purpose and "PrivateKeyExportable" in export.purpose
    assert load.purpose.startswith(f"On {EX2010}: import it") and "(-FileName is not in 2010)" in load.purpose
    [note] = [note for note in d.notes if EX2016 in note]
    assert PUBLIC[2] in note and "with its private key" in note and "instead of starting with a new certificate" in note
    assert not any("the fix starts with a new certificate" in note for note in d.notes)


def test_without_the_other_servers_certificates_a_new_one_is_still_the_start(case):
    d = _diagnose_2010(case, peers=rows_of(case.certs, [EX2010]))     # only its own: nothing to copy
    assert d.remediation[0].command == f"Enable-ExchangeCertificate -Thumbprint <public thumbprint> -Server {EX2010} " \
                                       "-Services SMTP"
    assert any("the fix starts with a new certificate from a public CA" in note for note in d.notes)


def test_a_public_certificate_of_another_server_without_its_key_is_not_copied(case):
    peers = case.certs.copy()
    peers.loc[peers["thumbprint"] == PUBLIC[2], "has_private_key"] = False
    d = _diagnose_2010(case, peers=peers)
    assert not any("Export-ExchangeCertificate" in (step.command or "") for step in d.remediation)
    assert d.public is None


def test_the_case_gives_the_failing_server_the_copy_of_the_other_servers_certificate(case):
    answers = {d.server: d for d in case.diagnose_servers()}
    commands = [step.command for step in answers[EX2010].remediation if step.command]
    assert commands[:3] == [step.command for step in _diagnose_2010(case, peers=case.certs).remediation][:3]
    assert commands[0].startswith("New-Item -ItemType Directory -Force C:\\exlab | Out-Null; $pfx = "
                                  f"Export-ExchangeCertificate -Thumbprint {PUBLIC[2]} -Server {EX2016} ")
    assert answers[EX2010].public == PUBLIC[2]
