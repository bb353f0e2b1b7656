"""One verdict per server: each server's own evidence, checked against the connector's
SourceTransportServers; the fix only where it belongs (truth.json's server_verdicts)."""

from __future__ import annotations

import json
import warnings
from functools import cache

import pytest

import exlab
from exlab.analysis.diagnose import diagnose, judge_server
from exlab.attribution import rows_of
from exlab.cli import main
from exlab.errors import ExlabWarning
from tests.samples import sample_cases

CASES = {case.name: case for case in sample_cases()}
pytestmark = pytest.mark.skipif(not CASES, reason="no lab cases in data/samples")


@cache
def opened(name: str):
    sample = CASES[name]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ExlabWarning)
        return exlab.open_case(sample.folder, roots=sample.roots, tz=sample.truth["tz"])


@pytest.mark.parametrize("name", sorted(CASES))
def test_each_server_gets_the_verdict_and_fix_its_truth_says(name):
    truth = CASES[name].truth["server_verdicts"]
    answers = {d.server: d for d in opened(name).diagnose_servers()}
    assert set(answers) == {server["fqdn"] for server in truth.values()}
    for server in truth.values():
        d = answers[server["fqdn"]]
        assert (d.verdict, d.cause, d.culprit, d.fix) == (
            server["verdict"], server["cause"], server["culprit"], server["fix"]), server["fqdn"]
        assert bool(d.remediation) == (server["fix"] != "none")
        assert d.why


@pytest.mark.parametrize("name", sorted(CASES))
def test_the_case_keeps_its_verdict_and_lists_every_server(name):
    truth = CASES[name].truth
    d = opened(name).diagnose()
    assert (d.verdict, d.cause, d.culprit) == (truth["verdict"], truth["cause"], truth["culprit"])
    assert [s.server for s in d.servers] == sorted(s["fqdn"] for s in truth["server_verdicts"].values())


def test_three_servers_only_the_failing_one_gets_the_fix_with_its_own_thumbprint():
    truth = CASES["litware-servers"].truth
    thumbprints = {c["key"]: c["thumbprint"] for c in truth["certificates"]}
    answers = {d.server: d for d in opened("litware-servers").diagnose_servers()}
    failing, healthy, branch = (answers[f"lwex0{n}.litwareinc.com"] for n in (1, 2, 3))
    commands = "\n".join(step.command or "" for step in failing.remediation)
    assert (f"Enable-ExchangeCertificate -Thumbprint {thumbprints['internal']} -Server lwex01.litwareinc.com "
            "-Services IMAP,POP,IIS") in commands
    assert thumbprints["internal-branch"] not in commands
    assert healthy.failures == 0 and healthy.remediation == [] and healthy.why == "no failure in its evidence"
    assert branch.sends is False and branch.remediation == [] and "not a source transport server" in branch.why
    case_fix = "\n".join(step.command or "" for step in opened("litware-servers").diagnose().remediation)
    assert thumbprints["internal"] in case_fix and thumbprints["internal-branch"] not in case_fix


def test_a_source_server_presenting_the_internal_certificate_gets_a_preventive_fix_without_failures():
    case, truth = opened("litware-servers"), CASES["litware-servers"].truth
    server = "lwex01.litwareinc.com"     # its certificates only: no log of it sending yet
    d = diagnose(certs=rows_of(case.certs, [server]), connectors=case.connectors, servers=case.servers,
                 server_fqdn=server, connector=case.connector, roots=case.roots, server=server,
                 at=truth["evidence_collected"])
    answer = judge_server(d, sends=True, watched=True)
    internal = {c["key"]: c["thumbprint"] for c in truth["certificates"]}["internal"]
    assert (answer.failures, answer.fix, answer.culprit) == (0, "preventive", internal)
    assert "will be refused when it sends" in answer.why
    assert any(internal in (step.command or "") for step in answer.remediation)
    assert "preventive fix (no failure yet):" in str(answer)


def test_investigate_prints_and_writes_one_verdict_per_server(capsys):
    sample = CASES["litware-servers"]
    assert main(["investigate", str(sample.folder), "--roots", str(sample.roots), "--tz", sample.truth["tz"],
                 "--json", "-"]) == 0
    captured = capsys.readouterr()
    data = json.loads(captured.out)
    assert data["verdict"] == "confirmed" and data["culprit"] == sample.truth["culprit"]
    fixes = {s["server"]: (s["verdict"], s["fix"], len(s["remediation"]) > 0) for s in data["servers"]}
    assert fixes == {"lwex01.litwareinc.com": ("confirmed", "fix", True),
                     "lwex02.litwareinc.com": ("ruled_out", "none", False),
                     "lwex03.litwareinc.com": ("ruled_out", "none", False)}
    assert captured.err.count("one verdict per server:") == 1
    assert "no fix: not a source transport server of connector 'Outbound to Office 365'" in captured.err


@pytest.mark.real_exports
def test_a_server_failing_through_another_connector_is_never_ruled_out(real_exports, tmp_path):
    """MPEX02's UntrustedRoot failures (Get-WinEvent export, 2013 tracking log) go through
    'Outbound to Office 365'; the only connector exported is another organisation's: MPEX02
    stays inconclusive and says which connector its failures are on, with no fix."""
    root = tmp_path / "evidence"
    root.mkdir()
    for name in ("generated/Get-WinEvent-Application.xml", "generated/MSGTRK20250602-1.LOG",
                 "css-exchange/HC-GetSendConnectorConfiguredToRelayToM365.xml"):
        (root / name.split("/")[1]).write_bytes((real_exports / name).read_bytes())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ExlabWarning)
        case = exlab.open_case(root, tz="America/Denver")
    answers = {d.server: d for d in case.diagnose_servers()}
    mpex02 = answers["mpex02.munsonspickles.com"]
    assert (mpex02.verdict, mpex02.fix, mpex02.remediation, mpex02.sends) == ("inconclusive", "none", [], False)
    assert "another send connector (1 through 'Outbound to Office 365')" in mpex02.why
    assert answers["WIN-CTD3L0RGEN4"].verdict != "confirmed"


def test_a_certificate_in_two_servers_stores_keeps_each_servers_services(tmp_path):
    """Services are bound per server: the internal certificate imported on LWEX02 too, enabled there
    for IIS only, is no SMTP candidate of LWEX02, which keeps presenting the public one (no fix);
    LWEX01's fix keeps LWEX01's services. Merged into one row, LWEX02 got LWEX01's services and a
    fix binding IMAP and POP on LWEX02 to the internal certificate."""
    import shutil

    truth = CASES["litware-servers"].truth
    internal = {c["key"]: c["thumbprint"] for c in truth["certificates"]}["internal"]
    case = tmp_path / "litware"
    shutil.copytree(CASES["litware-servers"].folder, case)
    lwex01, lwex02 = (case / f"LWEX0{n}" / "Get-ExchangeCertificate.txt" for n in (1, 2))
    blocks = lwex01.read_bytes().decode("utf-16").split("\r\n\r\n")
    block = next(b for b in blocks if f"Thumbprint         : {internal}" in b)
    assert len(blocks) > 2 and block.count("Thumbprint ") == 1 and "Services           : IMAP, POP, IIS, SMTP" in block
    text = lwex02.read_bytes().decode("utf-16")
    lwex02.write_text(text.rstrip("\r\n") + "\r\n\r\n" + block.replace("IMAP, POP, IIS, SMTP", "IIS") + "\r\n\r\n",
                      encoding="utf-16", newline="")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ExlabWarning)
        opened_case = exlab.open_case(case, roots=CASES["litware-servers"].roots, tz=truth["tz"])
        answers = {d.server: d for d in opened_case.diagnose_servers()}
    certs = opened_case.certs
    bound = certs[certs["thumbprint"] == internal].set_index("server")["services"].to_dict()
    assert bound == {"lwex01.litwareinc.com": ("IMAP", "POP", "IIS", "SMTP"), "lwex02.litwareinc.com": ("IIS",)}
    healthy = answers["lwex02.litwareinc.com"]
    assert (healthy.verdict, healthy.fix, healthy.remediation) == ("ruled_out", "none", [])
    failing = "\n".join(step.command or "" for step in answers["lwex01.litwareinc.com"].remediation)
    assert f"Enable-ExchangeCertificate -Thumbprint {internal} -Server lwex01.litwareinc.com -Services IMAP,POP,IIS" \
        in failing and "lwex02" not in failing


def test_a_case_of_one_server_failing_only_through_another_connector_says_so_in_its_own_answer(tmp_path):
    """The server's answer says its failures are on another connector (no fix); the case's answer
    gave the KB's full fix from the certificates alone and asked to raise SmtpSend to Expert for
    events 2004 that are logged. One server: both now say the same, and nothing asks for logged events."""
    import shutil

    sample = CASES["contoso-kb2888788"]
    case = tmp_path / "contoso"
    for part in ("certs", "config"):      # not Get-Queue: its queue's last error is a failure on the hybrid connector
        shutil.copytree(sample.folder / part, case / part, ignore=shutil.ignore_patterns("Get-Queue.txt"))
    events = (sample.folder / "events" / "MSExchangeTransport.xml").read_text(encoding="utf-8-sig")
    assert "<Data>Outbound to Office 365</Data>" in events
    (case / "events").mkdir()
    (case / "events" / "MSExchangeTransport.xml").write_text(
        events.replace("<Data>Outbound to Office 365</Data>", "<Data>Internet Mail</Data>"), encoding="utf-8-sig")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ExlabWarning)
        d = exlab.open_case(case, roots=sample.roots, tz=sample.truth["tz"]).diagnose()
    (server,) = d.servers
    assert (server.verdict, server.fix) == ("inconclusive", "none")
    assert "its failures are on another send connector" in server.why and "through 'Internet Mail'" in server.why
    assert (d.verdict, d.cause, d.culprit, d.remediation) == ("inconclusive", None, None, [])
    assert not any("Expert" in step.purpose for step in d.missing + server.missing)


def test_a_pin_on_a_shared_connector_names_a_source_server_whose_store_lacks_the_certificate(tmp_path):
    """The fix pins LWEX01's public certificate on the connector LWEX02 sends through too; with the
    public certificate gone from LWEX02's store, the pin would break LWEX02 (454 4.7.5): the case says so."""
    import shutil

    truth = CASES["litware-servers"].truth
    public = {c["key"]: c["thumbprint"] for c in truth["certificates"]}["public"]
    case = tmp_path / "litware"
    shutil.copytree(CASES["litware-servers"].folder, case)
    lwex02 = case / "LWEX02" / "Get-ExchangeCertificate.txt"
    blocks = lwex02.read_bytes().decode("utf-16").split("\r\n\r\n")
    kept = [b for b in blocks if f"Thumbprint         : {public}" not in b]
    assert len(kept) == len(blocks) - 1
    lwex02.write_text("\r\n\r\n".join(kept), encoding="utf-16", newline="")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ExlabWarning)
        d = exlab.open_case(case, roots=CASES["litware-servers"].roots, tz=truth["tz"]).diagnose()
    assert d.public == public
    (note,) = [note for note in d.notes if note.startswith("the pin on connector")]
    assert "the certificates of lwex02.litwareinc.com show none" in note and "454 4.7.5" in note
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ExlabWarning)
        untouched = opened("litware-servers").diagnose()
    assert not any(note.startswith("the pin on connector") for note in untouched.notes)
