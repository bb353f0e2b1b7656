"""The report: a model built once from a case (verdicts, culprit, fix, proof, details), shown
as one self-contained HTML page (and PDF) that a colleague can act on from its first screen."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import re
import shutil
from html import escape
from html.parser import HTMLParser

import pandas as pd
import pytest
from cryptography import x509

import exlab
from exlab.certs.anchors import TrustAnchors
from exlab.certs.x509_facts import windows_name
from exlab.cli import main
from exlab.errors import ExlabError, NoEvidence
from exlab.lab.cases import case as lab_case
from exlab.lab.generate import ROOTS_FILE, generate_case
from exlab.report import build_report, people_table, render_html, write_report
from exlab.report.model import CAUSE_WORDS, VERDICT_WORDS
from exlab.report.people import duration as people_duration
from exlab.report.people import timestamp
from exlab.settings import SETTINGS_FILE
from tests.browser import chromium, keep_screenshot, open_page
from tests.samples import sample_cases

CASES = sample_cases()
BY_NAME = {case.name: case for case in CASES}
# the figures' titles: each alternative text starts with its own
FIGURE_TITLES = ("Failed deliveries to Exchange Online per hour.", "Certificates covering ",
                 "SMTP send sessions by presented certificate.")
# what a cell must never show: missing values and Python reprs of tuples and durations
REPRS = re.compile(r"\bNaN\b|\bNaT\b|\bNone\b|<NA>|\bnan\b|^\(.*,\)$|^\('|\bdays [+-]?\d\d:\d\d|\d days \d\d:\d\d:\d\d"
                   r"|Timedelta\(|Timestamp\(")
needs_browser = pytest.mark.skipif(chromium() is None, reason="Chromium is not installed (apt-get install chromium)")
# the sortable tables wider than a box they are in that does not scroll: columns cut off
CUT_OFF = """() => Array.from(document.querySelectorAll('table.dataTable')).filter(table => {
  const width = table.getBoundingClientRect().width;
  for (let box = table.parentElement; box && box !== document.body; box = box.parentElement)
    if (box.clientWidth + 1 < width) return !['auto', 'scroll'].includes(getComputedStyle(box).overflowX);
  return false;
}).map(table => table.textContent.slice(0, 80))"""
# the cells listing several files ("a; b") that do not start each file on a line of its own
LISTS_NOT_ONE_PER_LINE = """() => Array.from(document.querySelectorAll('td.path'))
  .filter(cell => cell.querySelectorAll('br').length !== cell.textContent.split('; ').length - 1)
  .map(cell => cell.textContent)"""


class _Page(HTMLParser):
    """Every start tag of a page and the alt of every image, as a browser's parser sees them."""

    def __init__(self, html: str):
        super().__init__()
        self.tags: list[str] = []
        self.alts: list[str | None] = []
        self.feed(html)
        self.close()

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        if tag == "img":
            self.alts.append(dict(attrs).get("alt"))


def _alts_by_title(html: str) -> dict[str, str]:
    alts = _Page(html).alts
    found = {title: alt for title in FIGURE_TITLES for alt in alts if alt and alt.startswith(title)}
    assert len(found) == len(alts), f"every figure's text starts with its title: {alts}"
    return found


def _open(case):
    return exlab.open_case(case.folder, roots=case.roots, tz=case.truth.get("tz"), culture=case.truth.get("culture"))


@pytest.fixture(scope="module")
def models():
    """Each sample case's report model, built once for the tests below."""
    return {case.name: build_report(_open(case)) for case in CASES}


@pytest.fixture(scope="module")
def pages(models):
    return {name: render_html(model) for name, model in models.items()}


def _server_truth(case):
    """(fqdn, verdict, fix) of each server of the case's truth."""
    return [(v.get("fqdn") or case.truth["server_fqdn"], v["verdict"], v["fix"])
            for v in case.truth["server_verdicts"].values()]


@pytest.mark.slow
@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_the_model_gives_each_server_its_verdict_and_fix(case, models):
    report = models[case.name]
    assert report.verdict == case.truth["verdict"]
    got = {v.server.lower(): (v.verdict, v.fix) for v in report.servers}
    words = {"fix": "fix", "preventive": "preventive fix", "none": "no fix"}
    assert got == {fqdn.lower(): (verdict, words[fix]) for fqdn, verdict, fix in _server_truth(case)}
    assert all(v.why for v in report.servers), "each server says why it gets the fix it gets"
    if case.truth.get("culprit"):
        assert report.culprit is not None and report.culprit.thumbprint == case.truth["culprit"]
    assert report.connector == case.truth["connector"]


@pytest.mark.slow
@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_the_page_states_verdict_culprit_connector_and_window_in_the_cases_zone(case, pages):
    html = pages[case.name]
    title = VERDICT_WORDS[case.truth["verdict"]]
    if case.truth["verdict"] == "ruled_out":
        title += f": {CAUSE_WORDS[case.truth['cause']] if case.truth['cause'] else 'mail to Exchange Online flows'}"
    assert f"<h1>{escape(title)}</h1>" in html
    assert case.truth["connector"] in html
    if case.truth.get("culprit"):
        assert case.truth["culprit"] in html
    if case.truth.get("onset") and case.truth["verdict"] != "ruled_out":
        tz = case.truth["tz"]
        assert f"from {timestamp(pd.Timestamp(case.truth['onset']), tz)}" in html
        assert f"All times in {tz}" in html
    if case.truth["verdict"] == "confirmed":
        assert f"Enable-ExchangeCertificate -Thumbprint {case.truth['culprit']}" in html
    assert html.index("<h1>") < html.index("The proof") < html.index("Details"), "answer, proof, details"


@pytest.mark.slow
def test_the_fix_pins_the_public_certificate_first_and_gives_each_command_once(models):
    report = models["contoso-kb2888788"]
    truth = BY_NAME["contoso-kb2888788"].truth
    public = next(c for c in truth["certificates"] if c["key"] == "public")
    commands = report.commands()
    assert commands[0].startswith(f"Set-SendConnector '{truth['connector']}' -TlsCertificateName '<I>CN=exlab Lab "
                                  "Public Server CA 01")
    assert len(commands) == len(set(commands))
    assert [step.purpose for step in report.fix if step.command is None] == [
        ("Check again. Exchange 2013 and later only add services, so SMTP may stay: the pin then keeps the public "
         "certificate presented; to be rid of the internal one, enable its other services on another certificate "
         "and remove it (Remove-ExchangeCertificate) (run the command of step 2 again)")]
    assert report.verify is not None and public["thumbprint"] in report.verify.expect


def _verify_hops(command: str) -> list[str]:
    """The NextHopDomain patterns of a Verify command's Get-Queue filter."""
    return re.findall(r"\$_\.NextHopDomain -like '([^']*)'", command)


def _like(hop: str, patterns: list[str]) -> bool:
    """PowerShell's -like (case-insensitive) against any of ``patterns``."""
    import fnmatch

    return any(fnmatch.fnmatchcase(str(hop).lower(), pattern.lower()) for pattern in patterns)


def test_the_verify_step_finds_the_queues_of_the_connector_however_it_routes(models, tmp_path):
    """Get-Queue names a queue by its next hop: the connector's smart host, or, on a connector that routes by MX,
    the recipients' domain. The Verify step's filter is built from the connector export, so it finds the queue the
    case names as the connector's (contoso's: its smart host) and not the others; a filter that found none would
    read like a drained queue. A connector that routes by MX is filtered by its address space; without the export,
    any queue to Exchange Online (the tenant's smart host or routing domain)."""
    case = _open(BY_NAME["contoso-kb2888788"])
    hops = _verify_hops(models["contoso-kb2888788"].verify.command)
    assert hops == ["contoso-com.mail.protection.outlook.com"]
    queues = case.queues
    mine = queues["connector"].astype("string").eq("Outbound to Office 365").fillna(False).astype(bool)
    assert mine.any() and (~mine).any()
    assert [_like(hop, hops) for hop in queues["next_hop_domain"]] == mine.tolist()
    # the retry need not be waited for: Retry-Queue tries a queue in Retry at once
    assert "at once after Retry-Queue with the Identity shown" in models["contoso-kb2888788"].verify.expect

    folder = tmp_path / "mx"
    shutil.copytree(case.folder, folder)
    from exlab.lab.transport_logs import write_send_connectors
    from exlab.transport import read_connectors

    [export] = [p for p in folder.rglob("*") if p.is_file() and "SendConnector" in p.name]
    row = read_connectors(export).iloc[0].to_dict()
    write_send_connectors(export, [{**row, "smart_hosts": (),
                                    "address_spaces": ("smtp:*.contoso.mail.onmicrosoft.com;1",)}])
    hops = _verify_hops(build_report(exlab.open_case(folder)).verify.command)     # roots and tz: exlab-case.toml
    assert hops == ["*.contoso.mail.onmicrosoft.com", "contoso.mail.onmicrosoft.com"]
    assert _like("Contoso.mail.onmicrosoft.com", hops) and not _like("fabrikam.com", hops)
    export.unlink()
    hops = _verify_hops(build_report(exlab.open_case(folder)).verify.command)
    assert _like("contoso-com.mail.protection.outlook.com", hops) and _like("contoso.mail.onmicrosoft.com", hops)
    assert not _like("fabrikam.com", hops) and not _like("mail.protection.outlook.com.evil.example", hops)


def test_the_report_gives_the_back_out_of_the_fix(models, pages):
    """A change board asks how to undo the change: each command the fix changes something with has its
    counterpart, last step first (SMTP given back to the internal certificate, then the pin removed)."""
    report = models["contoso-kb2888788"]
    internal = BY_NAME["contoso-kb2888788"].truth["culprit"]
    assert report.put_back == [f"Enable-ExchangeCertificate -Thumbprint {internal} -Services IMAP,POP,IIS,SMTP",
                               f"Set-SendConnector '{report.connector}' -TlsCertificateName $null"]
    page = pages["contoso-kb2888788"]
    assert "<summary>To put back what the fix changes</summary>" in page
    assert escape(report.put_back[0]) in page
    assert models["fabrikam-healthy"].put_back == [] and "To put back" not in pages["fabrikam-healthy"]


def test_a_pin_of_a_certificate_not_yet_got_keeps_its_place_after_getting_one():
    """With no public certificate fit to present (expired), the fix starts by getting one; a pin
    that only names placeholders comes after that step, never moved before it."""
    from exlab.analysis import diagnose
    from exlab.report.model import fix_steps, verification
    from tests.analysis import frames as f

    expired = f.certs(f.cert(f.PUBLIC, "public", "2024-03-01", services=("IIS", "SMTP"), not_after="2025-03-01"),
                      f.cert(f.INTERNAL, "internal", "2025-03-14"))
    refused = f.sessions(f.session("2025-03-20 09:14:01.5", f.UNTRUSTED))
    d = diagnose(certs=expired, sessions=refused, server_fqdn=f.FQDN, connector=f.CONNECTOR)
    steps = fix_steps(d)
    assert steps[0].purpose.startswith("Get a certificate from a public CA")
    assert steps[1].command.endswith("-TlsCertificateName '<I><issuer><S><subject>'")     # after getting one
    # and the check after the fix does not expect the expired certificate to be presented
    assert "shows the public certificate presented" in verification(d, d.public).expect


def test_the_report_never_expects_an_expired_public_certificate_to_be_presented(tmp_path):
    """The contoso sample with its public certificate expired before the failures (Format-List only:
    a DER would say otherwise): the fix starts by getting a new one, and the check after the fix
    names no expired certificate as the one to see presented."""
    sample = BY_NAME["contoso-kb2888788"]
    case = tmp_path / "contoso"
    for part in ("config", "events", "logs"):
        shutil.copytree(sample.folder / part, case / part)
    (case / "certs").mkdir()
    export = (sample.folder / "certs" / "Get-ExchangeCertificate-fl.txt").read_text(encoding="utf-16")
    assert export.count("NotAfter             : 07.12.2025 00:59:59") == 1        # the public certificate's
    (case / "certs" / "fl.txt").write_text(export.replace("07.12.2025 00:59:59", "01.03.2025 00:59:59"),
                                           encoding="utf-16", newline="")
    public = next(c for c in sample.truth["certificates"] if c["key"] == "public")["thumbprint"]
    report = build_report(exlab.open_case(case, roots=sample.roots, tz="Europe/Warsaw", culture="pl-PL"))
    assert report.fix[0].purpose.startswith(f"Get a certificate from a public CA for the name (the public "
                                            f"certificate {public} expired on 2025-02-28)")
    assert public not in report.verify.expect and "the public certificate presented" in report.verify.expect


@pytest.mark.slow
def test_a_fix_for_several_servers_names_each_server_and_the_connector_once(models):
    report = models["tailspin-tlscertname"]
    commands = report.commands()
    assert len(commands) == len(set(commands))
    fixed = [fqdn for fqdn, _, fix in _server_truth(BY_NAME["tailspin-tlscertname"]) if fix == "fix"]
    assert len(fixed) == 2
    for fqdn in fixed:
        assert any(f"Invoke-Command -ComputerName {fqdn} " in command for command in commands), fqdn


@pytest.mark.slow
def test_a_case_without_failures_says_what_was_checked_and_that_nothing_is_to_change(models, pages):
    report, html = models["fabrikam-healthy"], pages["fabrikam-healthy"]
    assert report.fix == [] and report.verify is None and report.window is None
    assert "No change is needed" in report.summary
    assert any(item.startswith("SMTP send protocol logs") for item in report.checked)
    assert "What was checked, and what was not" in html and "<details open>" in html


@pytest.mark.slow
@pytest.mark.parametrize("name", ["tailspin-tlscertname", "woodgrove-expired"])
def test_a_ruled_out_case_names_the_cause_it_is_instead(name, models):
    report, truth = models[name], BY_NAME[name].truth
    assert report.title == f"Not KB 2888788: {CAUSE_WORDS[truth['cause']]}"
    assert "not because of KB 2888788" in report.summary
    assert report.fix, "a look-alike gets its own fix"


def test_an_inconclusive_case_says_what_was_not_checked_and_what_to_collect(tmp_path):
    contoso = BY_NAME["contoso-kb2888788"]
    folder = tmp_path / "certs-only"
    shutil.copytree(contoso.folder / "certs", folder / "certs")
    case = exlab.open_case(folder, roots=contoso.roots, tz="Europe/Warsaw", server_fqdn="exchange.contoso.com")
    report = build_report(case)
    assert report.verdict == "inconclusive"
    assert report.title == "KB 2888788 not settled"
    assert any(item.startswith("event logs") and "missing" in item for item in report.not_checked)
    assert any(item.startswith("certificates") for item in report.checked)
    collect = [step.command for step in report.collect]
    assert ("New-Item -ItemType Directory -Force C:\\exlab\\events | Out-Null; "
            "wevtutil epl Application C:\\exlab\\events\\Application.evtx /ow:true") in collect
    # the Expert level's step raises the level only: a second export to the same file would fail without /ow:true
    assert 'Set-EventLogLevel "MSExchangeTransport\\SmtpSend" -Level Expert' in collect
    html = render_html(report)
    assert "What to collect next" in html and "<details open>" in html


@pytest.mark.slow
@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_the_page_is_self_contained_and_carries_no_local_path(case, pages):
    html = pages[case.name]
    assert len(re.findall(r'<img[^>]+src="data:image/png;base64,', html)) >= 1
    assert not re.search(r'<(script|link|img|iframe)[^>]+(src|href)="?(https?:)?//', html)
    for local in (str(case.folder), str(case.folder.parent.parent), os.path.expanduser("~"), "/tmp/"):
        assert local not in html
    for path in sorted(case.folder.rglob("*")):
        if path.is_file() and path.name != "truth.json":
            assert hashlib.sha256(path.read_bytes()).hexdigest() in html, path.name


@pytest.mark.slow
@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_every_table_is_for_people(case, models):
    report = models[case.name]
    tables = [t for t in (report.issuers, report.chains, *report.details) if t is not None]
    assert tables
    for table in tables:
        assert list(table.table.index) == list(range(len(table.table))), table.title
        for column in table.table.columns:
            bad = [cell for cell in table.table[column] if not isinstance(cell, str) or REPRS.search(cell)]
            assert bad == [], (table.title, column, bad[:3])


@pytest.mark.slow
@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_the_report_names_what_it_trusts_besides_microsofts_program(case, models, pages):
    anchor = x509.load_pem_x509_certificate(case.roots.read_bytes())
    assert models[case.name].trust == (f"{windows_name(anchor.subject)}, from {case.roots.name} "
                                       f"(named by {SETTINGS_FILE})")
    assert f"<dt>Also trusted</dt><dd>{escape(models[case.name].trust)}" in pages[case.name]
    assert build_report(exlab.open_case(case.folder, roots=TrustAnchors.default())).trust is None


def test_people_tables_turn_frame_values_into_words():
    frame = pd.DataFrame({"time": pd.to_datetime(["2025-03-20 10:49:14.243", None], utc=True),
                          "offset": pd.to_timedelta(["-1901 days +22:40:45", None]),
                          "services": [("IMAP", "POP", "SMTP"), None], "trusted": pd.array([False, pd.NA]),
                          "count": [3.0, float("nan")]})
    table = people_table(frame, {"time": "seen", "offset": "before", "services": "services", "trusted": "trusted",
                                 "count": "count"}, tz="Europe/Warsaw")
    assert table.to_dict("list") == {"seen (Europe/Warsaw)": ["2025-03-20 11:49:14", ""], "before": ["5 years", ""],
                                     "services": ["IMAP, POP, SMTP", ""], "trusted": ["no", ""], "count": ["3", ""]}


def test_counts_in_the_report_have_their_thousands_separated_and_ids_keep_their_digits():
    from types import SimpleNamespace

    from exlab.parse_report import ParseReport
    from exlab.report.model import inputs_table

    reports = ParseReport()
    big = reports.add_file("logs/SEND20250320-1.LOG", sha256="ab" * 32, format="smtp-send")
    big.records_read = 1_204_331
    big.skip_unlisted(82_560)
    table = inputs_table(SimpleNamespace(reports=reports, unread=pd.DataFrame({"file": [], "reason": []}),
                                         folder="/nowhere", roots=None)).table
    assert table[["records read", "records skipped"]].values.tolist() == [["1,204,331", "82,560"]]
    events = pd.DataFrame({"event_id": [12014], "record_id": [120433], "failures": [1500]})
    shown = people_table(events, {"event_id": "event", "record_id": "record", "failures": "failures"},
                         counts=("failures",))
    assert shown.values.tolist() == [["12014", "120433", "1,500"]]


@pytest.mark.slow
def test_the_timeline_legend_stays_off_the_bars(models):
    figure = next(f for f in models["contoso-kb2888788"].figures if f.title.startswith("Failed deliveries"))
    ax = figure.figure.axes[0]
    figure.figure.canvas.draw()
    legend, axes = ax.get_legend().get_window_extent(), ax.get_window_extent()
    assert legend.x0 >= axes.x1, "the legend is beside the plot, not over its bars"


@pytest.mark.slow
@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_every_figure_says_in_words_what_it_shows(case, pages):
    alts = _Page(pages[case.name]).alts
    assert alts, "the report has figures"
    for alt in alts:
        assert alt and re.search(r"\d", alt), alt
    assert len(_alts_by_title(pages[case.name])) == len(alts)


@pytest.mark.slow
def test_figure_texts_carry_the_case_numbers(pages):
    case = BY_NAME["contoso-kb2888788"]
    truth, counts, culprit = case.truth, case.truth["counts"], case.truth["culprit"]
    alts = _alts_by_title(pages[case.name])
    assert len(alts) == 3
    onset_hour = pd.Timestamp(truth["onset"]).tz_convert(truth["tz"]).floor("h").strftime("%Y-%m-%d %H:%M")
    failures = alts["Failed deliveries to Exchange Online per hour."]
    assert f"({truth['tz']}): {counts['events_2004']} failures in " in failures
    assert f"the first in the hour from {onset_hour}" in failures
    assert f"certificate {culprit[:8]} CN=mail.contoso.com by CN=Contoso Issuing CA 01, valid from" in failures
    onset = pd.Timestamp(truth["onset"]).tz_convert(truth["tz"]).strftime("%Y-%m-%d %H:%M")
    assert f"first failure at {onset}" in failures
    public = next(c["thumbprint"] for c in truth["certificates"] if c["key"] == "public")
    issuers = alts["Certificates covering "]
    assert issuers.startswith("Certificates covering mail.contoso.com. Bar chart of the validity of 2 certificates")
    assert f"{public[:8]} CN=mail.contoso.com by CN=exlab Lab Public Server CA 01, public, valid from" in issuers
    assert re.search(f"{culprit[:8]} [^;]*, internal, valid from [^;]*, selected for outbound TLS", issuers)
    sessions = alts["SMTP send sessions by presented certificate."]
    assert f"{counts['sessions']} SMTP send sessions through send connector \"{truth['connector']}\"" in sessions
    assert f"{culprit[:8]}: {counts['failed_sessions']} rejected" in sessions
    assert f"{public[:8]}: {counts['delivered_sessions']} delivered" in sessions


@pytest.mark.slow
def test_the_proof_shows_sessions_with_the_certificate_presented_and_the_reply(models):
    report = models["contoso-kb2888788"]
    culprit = BY_NAME["contoso-kb2888788"].truth["culprit"]
    assert 2 <= len(report.sessions) <= 3
    refused = report.sessions[0]
    assert refused.outcome == "rejected" and refused.certificate.startswith(culprit)
    assert "454 4.7.0" in refused.reply and "UntrustedRoot" in refused.reply
    assert report.sessions[-1].outcome == "delivered" and report.sessions[-1].reply.startswith("2")
    assert re.fullmatch(r"logs/ProtocolLog/SmtpSend/SEND\d+-1\.LOG, line \d+", refused.source)
    assert all(t.table.shape[0] == 2 for t in [report.issuers]), "leaf certificates only: no roots or chains"


@pytest.mark.slow
def test_a_connector_name_with_markup_stays_text(tmp_path):
    contoso = lab_case("contoso-kb2888788")
    name = 'Out "<script>alert(1)</script>" & co'
    scenario = dataclasses.replace(contoso, case="contoso-markup",
                                   connector=dataclasses.replace(contoso.connector, name=name))
    generated = generate_case(scenario, tmp_path / "cases", events=50)
    html = write_report(generated.folder, tmp_path / "report.html", roots=tmp_path / "cases" / ROOTS_FILE,
                        tz=scenario.tz).read_text(encoding="utf-8")
    page = _Page(html)
    assert "<script>alert(1)" not in html
    assert page.tags.count("script") == html.count("<script"), "every script is the page's own"
    sessions = _alts_by_title(html)["SMTP send sessions by presented certificate."]
    assert f'through send connector "{name}" from ' in sessions
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_report_refuses_to_write_into_the_evidence(tmp_path):
    evidence = tmp_path / "case"
    evidence.mkdir()
    with pytest.raises(ExlabError, match="outside the evidence folder"):
        write_report(evidence, evidence / "report.html")
    assert list(evidence.iterdir()) == []


@pytest.mark.slow
@needs_browser
def test_report_and_pdf_from_the_command_line(tmp_path):
    case = BY_NAME["fabrikam-healthy"]
    output, pdf = tmp_path / "r.html", tmp_path / "r.pdf"
    assert main(["report", str(case.folder), "-o", str(output), "--pdf", str(pdf), "--roots", str(case.roots),
                 "--tz", case.truth["tz"]]) == 0
    assert "<h1>Not KB 2888788: mail to Exchange Online flows</h1>" in output.read_text(encoding="utf-8")
    data = pdf.read_bytes()
    assert data.startswith(b"%PDF-") and len(data) > 20_000
    pages = len(re.findall(rb"/Type\s*/Page\b(?!s)", data))
    assert 1 <= pages <= 8, f"the page as a reader first sees it, details collapsed: {pages} pages"


@pytest.mark.slow
def test_investigate_writes_the_same_report(tmp_path):
    case = BY_NAME["contoso-kb2888788"]
    output = tmp_path / "r.html"
    assert main(["investigate", str(case.folder), "--report", str(output), "--roots", str(case.roots),
                 "--tz", case.truth["tz"]]) == 0
    assert "<h1>KB 2888788 confirmed</h1>" in output.read_text(encoding="utf-8")


def assert_a_click_on_the_time_header_sorts(page) -> int:
    """In each sortable table with a time column, a click on its header sorts by time, a second
    click sorts the other way (the times shown as date over time, compared as written); returns
    how many tables were checked."""
    tables = page.locator("table.dataTable:has(th.time)").all()
    for table in tables:
        header = table.locator("th.time .dt-column-title")
        shown = []
        for _ in range(2):
            header.click()
            page.wait_for_timeout(100)
            shown.append(table.locator("tbody td.time").all_text_contents())
        assert shown[0] == sorted(shown[0]) and shown[1] == sorted(shown[1], reverse=True), shown
        assert shown[0][0] < shown[1][0], "the second click shows the latest first"
    return len(tables)


@pytest.mark.slow
@needs_browser
@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_a_reader_at_1280_by_900_sees_the_answer_and_the_fix_first(case, models, pages, tmp_path):
    report, html = models[case.name], pages[case.name]
    commands = report.commands()
    with open_page(html) as seen:
        first = seen.measure([report.title, "Verdict per server", "Also trusted", *commands[:1]])
        keep_screenshot(seen, tmp_path, f"report-{case.name}-first-screen", full_page=False)
        keep_screenshot(seen, tmp_path, f"report-{case.name}")
        assert first["tops"][0] is not None and first["tops"][0] < 900, "the verdict is on the first screen"
        assert first["tops"][1] is not None and first["tops"][1] < 900, "so is the verdict of each server"
        if commands:
            assert first["tops"][3] is not None and first["tops"][3] < 900, "and the first fix command"
        assert first["tops"][2] is not None and first["tops"][2] < 900, "what the verdict trusts besides Microsoft's"
        if case.name == "contoso-kb2888788":
            assert first["height"] < 6000
        assert seen.page.locator(".dt-search input").count() >= 1, "the large tables sort and search, offline"
        seen.page.evaluate("document.querySelectorAll('details').forEach(d => d.open = true)")
        seen.page.wait_for_timeout(300)
        sortable_by_time = [t for t in (report.issuers, report.chains, *report.details)
                            if t is not None and t.interactive and t.table.attrs.get("times")]
        assert assert_a_click_on_the_time_header_sorts(seen.page) == len(sortable_by_time)
        opened = seen.measure(commands)
        keep_screenshot(seen, tmp_path, f"report-{case.name}-opened")
        for shown in (first, opened):
            assert shown["scrollWidth"] <= shown["clientWidth"], "no horizontal scroll"
            assert shown["wide"] == [], "no table wider than its box"
        assert opened["counts"] == [1] * len(commands), "each fix command exactly once"
        assert "downsampled" not in opened["text"], "interactive tables hold every row"
        assert [cell for cell in opened["cells"] if REPRS.search(cell)] == []
        assert all(img["width"] > 0 and img["natural"] > 0 and img["alt"] for img in opened["images"])
    assert seen.refused == [], "no request leaves the page"
    assert seen.errors == []


@pytest.mark.slow
@needs_browser
@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_file_names_wrap_at_their_separators_and_nothing_is_wider_than_the_page(case, pages, tmp_path):
    # every row of every table shown, in a wide window, at the narrow-screen layout's edge, and below it
    with open_page(pages[case.name], viewport={"width": 1280, "height": 900}) as seen:
        seen.page.evaluate("document.querySelectorAll('details').forEach(d => d.open = true)")
        for select in seen.page.locator(".dt-length select").all():
            select.select_option("-1")
        for width in (1280, 900, 700):
            seen.page.set_viewport_size({"width": width, "height": 900})
            seen.page.wait_for_timeout(300)
            keep_screenshot(seen, tmp_path, f"report-{case.name}-files-{width}")
            assert seen.words_broken() == [], f"at {width} px, a file name breaks inside a word that would fit on its line"
            assert seen.page.evaluate("document.documentElement.scrollWidth") <= width, \
                f"at {width} px the page scrolls sideways (a long word in a warning, a table)"
            assert seen.page.evaluate(CUT_OFF) == [], f"at {width} px a table is cut off, not scrollable"
        assert seen.page.locator("td.path").count() > 0
        copied = seen.page.evaluate("Array.from(document.querySelectorAll('td.path')).map(c => c.textContent)")
        assert all("<wbr>" not in text and "\u200b" not in text for text in copied), "the names copy as they are"
        assert seen.page.evaluate(LISTS_NOT_ONE_PER_LINE) == [], "a list of files shows one file a line"
    assert seen.errors == []


@pytest.mark.real_exports
def test_the_report_of_real_exports_hashes_every_file_and_says_where_the_failures_are(real_exports):
    """The real exports side by side: a connector to Microsoft 365 without failures, and
    MPEX02's event 2004 and tracking DEFER through another connector ('Outbound to Office 365')."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", exlab.ExlabWarning)
        report = build_report(exlab.open_case(real_exports))
    html = render_html(report)
    assert report.verdict == "inconclusive" and report.window is None and report.fix == []
    mpex02 = next(v for v in report.servers if v.server == "mpex02.munsonspickles.com")
    assert mpex02.why.startswith("its failures are on another send connector (1 through 'Outbound to Office 365')")
    assert "No failure through the case's send connector" in html
    for path in sorted(real_exports.rglob("*")):
        if path.is_file():
            assert hashlib.sha256(path.read_bytes()).hexdigest() in html, path.name
    assert str(real_exports) not in html and str(real_exports.resolve()) not in html
    for table in (t for t in (report.issuers, report.chains, *report.details) if t is not None):
        assert not any(REPRS.search(cell) for column in table.table for cell in table.table[column]), table.title


def test_follow_links_reaches_the_evidence_check_and_the_case(tmp_path):
    from tests.conftest import SAMPLES

    outside, evidence = tmp_path / "elsewhere", tmp_path / "case"
    outside.mkdir()
    evidence.mkdir()
    fl = SAMPLES / "fabrikam-healthy" / "certs" / "Get-ExchangeCertificate-fl.txt"
    (outside / fl.name).write_bytes(fl.read_bytes())
    (evidence / fl.name).symlink_to(outside / fl.name)        # the only evidence lies outside the folder
    assert main(["report", str(evidence), "-o", str(tmp_path / "r.html")]) == NoEvidence.exit_code
    assert not (tmp_path / "r.html").exists()
    assert main(["report", str(evidence), "-o", str(tmp_path / "r.html"), "--follow-links"]) == 0
    assert fl.name in (tmp_path / "r.html").read_text(encoding="utf-8")


# -- what a person reads: each statement as true as the case's evidence and truth.json -------------

def _delivered_sessions(case) -> pd.DataFrame:
    sessions = case.sessions
    return sessions[(sessions["outcome"].astype("string") == "delivered").fillna(False).astype(bool)]


@pytest.mark.slow
@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_each_servers_verdict_says_no_more_than_its_evidence(case, models, pages):
    """'Mail flows' only for a server whose protocol log shows it delivering; a server the
    connector's SourceTransportServers do not list is not concerned (not 'no proof either way')."""
    opened = _open(case)
    delivering = {str(s).lower() for s in _delivered_sessions(opened)["server"].dropna()}
    listed = {str(s).lower() for s in opened.connectors["source_transport_servers"].iloc[0]}
    for verdict in models[case.name].servers:
        short = verdict.server.split(".")[0].lower()
        truth = case.truth["server_verdicts"][short.upper()]
        if "flows" in verdict.in_words:
            assert verdict.server.lower() in delivering, (verdict.server, verdict.in_words)
        if listed and short not in listed:
            assert (truth["verdict"], truth["fix"]) == ("ruled_out", "none")
            assert verdict.in_words == "Not concerned: it does not send to Exchange Online through this connector"
            assert verdict.strength.startswith("from the connector's settings")
            assert f"<td>{escape(verdict.in_words)} (from the connector&#x27;s settings)</td>" in pages[case.name]
    if case.name == "litware-servers":
        assert sum(v.in_words.startswith("Not concerned") for v in models[case.name].servers) == 1   # LWEX03


def _deliveries_after(case, end: pd.Timestamp, servers: set[str]) -> list[pd.Timestamp]:
    """The evidence's deliveries to Exchange Online after ``end`` from ``servers``: delivered send
    sessions (at the reply that accepted the message) and the tracking log's SEND rows through the case's
    connector."""
    sessions = _delivered_sessions(case)
    from_servers = sessions["server"].astype("string").str.lower().isin(servers).fillna(False).astype(bool)
    times = list(sessions.loc[from_servers & (sessions["delivered_at"] > end), "delivered_at"])
    tracking = case.tracking
    sent = (tracking["event_id"].astype("string").eq("SEND") & tracking["connector_id"].astype("string").eq(
        case.diagnose().connector) & tracking["server"].astype("string").str.lower().isin(servers)).fillna(False)
    return times + list(tracking.loc[sent.astype(bool) & (tracking["time"] > end), "time"])


@pytest.mark.slow
@pytest.mark.parametrize("case", [c for c in CASES if c.truth.get("onset")], ids=lambda c: c.name)
def test_an_outage_the_evidence_does_not_see_end_is_not_shown_closed(case, models):
    """The window closes ('to ..., mail flowed again at') only where a delivery follows the last
    failure; else it names the last failure and says no delivery follows it (litware: the evidence
    was collected minutes after it, no fix applied)."""
    report, truth, tz = models[case.name], case.truth, case.truth["tz"]
    onset, end = (pd.Timestamp(truth[key]) for key in ("onset", "end"))
    failing = {server.lower() for server in report.affected}
    after = _deliveries_after(_open(case), end, failing)
    assert bool(after) == (truth["fix_applied"] is not None), "the evidence agrees with the truth"
    if after:
        assert report.window == (f"from {timestamp(onset, tz)} to {timestamp(end, tz)} {tz} "
                                 f"({people_duration(end - onset)}); mail flowed again at {timestamp(min(after), tz)}")
    else:
        assert report.window == (f"from {timestamp(onset, tz)} {tz}; last failure at {timestamp(end, tz)}, no "
                                 f"delivery to Exchange Online from {', '.join(report.affected)} after it in the "
                                 "evidence (still failing when the evidence was collected?)")


@pytest.mark.slow
def test_a_healthy_servers_deliveries_do_not_end_the_outage_of_a_server_still_failing(tmp_path):
    """litware collected at 17:55 UTC: LWEX02, healthy all along, delivers seconds after LWEX01's last
    refusal, and LWEX01 never delivers again. The timeline, the diagnosis and the report agree that mail
    from LWEX01 has not flowed again (the timeline said it had, at LWEX02's delivery)."""
    end = "2025-10-14T17:55:00Z"
    scenario = dataclasses.replace(lab_case("litware-servers"), case="litware-ex02-flows", end=end,
                                   collected=end, certs_exported=end)
    generated = generate_case(scenario, tmp_path / "cases", events=20)
    case = exlab.open_case(generated.folder, roots=tmp_path / "cases" / ROOTS_FILE, tz=scenario.tz,
                           culture=scenario.culture)
    sessions, failing = case.sessions, "lwex01.litwareinc.com"
    last = sessions.loc[sessions["server"].eq(failing), "failed_at"].max()
    delivered_after = sessions.loc[(sessions["outcome"].eq("delivered") & sessions["start"].gt(last)), "server"]
    assert set(delivered_after) == {"lwex02.litwareinc.com"}, "the evidence shows what the test is about"
    timeline = case.timeline()
    assert timeline.end == last and timeline.fix is None
    assert "mail flows again" not in set(timeline.context["kind"])
    assert not any(note.startswith("mail was delivered again") for note in case.diagnose().notes)
    assert build_report(case).window.endswith(f"no delivery to Exchange Online from {failing} after it in the "
                                              "evidence (still failing when the evidence was collected?)")


@pytest.mark.slow
def test_the_certificates_covering_the_name_say_whose_store_each_is_in_when_there_are_several_servers(models, pages):
    issuers = models["litware-servers"].issuers.table
    truth = {c["thumbprint"]: {s.lower() for s in c["servers"]}      # host names: the verdicts name them in full
             for c in BY_NAME["litware-servers"].truth["certificates"]}
    assert {row["thumbprint"]: set(row["server"].split("; ")) for _, row in issuers.iterrows()} == {
        thumbprint: truth[thumbprint] for thumbprint in issuers["thumbprint"]}
    shown = pages["litware-servers"].split("Certificates covering the name</h3>")[1].split("</table>")[0]
    assert len(issuers) == 3 and "<th>server</th>" in shown and "<td>lwex03</td>" in shown
    assert "server" not in models["contoso-kb2888788"].issuers.table, "one server: no column to tell them apart"


def test_with_servers_keeps_a_certificate_bound_differently_on_two_servers_apart():
    from exlab.report.model import issuers_table, with_servers

    certs = pd.DataFrame({"thumbprint": ["AB" * 20] * 2, "subject": ["CN=mail"] * 2, "issuer": ["CN=CA"] * 2,
                          "services": [("IIS", "SMTP"), ("IIS",)], "server": ["ex01", "ex02"]})
    table = issuers_table(with_servers(certs.drop(columns="server"), certs), "UTC").table
    assert table[["services", "server"]].values.tolist() == [["IIS, SMTP", "ex01"], ["IIS", "ex02"]]


def _log_line(case, source: str) -> str:
    file, _, line = source.rpartition(", line ")
    return (case.folder / file).read_text(encoding="utf-8").splitlines()[int(line) - 1]


@pytest.mark.slow
@pytest.mark.parametrize("name", ["contoso-kb2888788", "litware-servers"])
def test_session_cards_time_the_refusal_and_show_the_reply_that_accepted_the_message(name, models):
    """A refused session is timed and placed at Exchange Online's refusal, as the rest of the report
    (the first card's time is the window's start, truth's onset); a delivered one at the 250 to the
    message's data, which it shows, not the 221 that closed the session (it was timed at its start,
    placed in its file only)."""
    report, case = models[name], BY_NAME[name]
    sessions = _open(case).sessions.set_index("session_id")
    refused, delivered = report.sessions[0], report.sessions[-1]
    assert refused.time == timestamp(pd.Timestamp(case.truth["onset"]), case.truth["tz"], named=True)
    for card in report.sessions[:-1]:
        assert card.time == timestamp(sessions.loc[card.session_id, "failed_at"], case.truth["tz"], named=True)
        line = _log_line(case, card.source)
        assert card.session_id in line and card.reply in line and "UntrustedRoot" in card.reply
    assert delivered.outcome == "delivered"
    # said where it stands: contoso's flows again after the fix; litware's LWEX01 still failed when collected
    when = {"contoso-kb2888788": "after its server's last failure: mail flows again",
            "litware-servers": "before the first failure"}[name]
    delivered_at = sessions.loc[delivered.session_id, "delivered_at"]
    assert delivered.time == f"{timestamp(delivered_at, case.truth['tz'], named=True)} ({when})"
    line = _log_line(case, delivered.source)
    assert delivered.session_id in line and delivered.reply in line
    assert delivered.reply.startswith("250 2.6.0 <") and "Queued mail for delivery" in delivered.reply
    assert delivered.reply in sessions.loc[delivered.session_id, "replies"]
    assert any(message in delivered.reply for message in sessions.loc[delivered.session_id, "message_ids"])


def test_the_accepting_reply_of_a_session_that_sent_data():
    from exlab.report.model import accepting_reply

    data = ("220 ready", "250 2.1.0 Sender OK", "250 2.1.5 Recipient OK", "354 Start mail input",
            "250 2.0.0 Ok: queued", "221 2.0.0 Bye")
    assert accepting_reply(data) == "250 2.0.0 Ok: queued"
    assert accepting_reply(("220 ready", "250 SMTPUTF8", "221 2.0.0 Bye")) is None
    assert accepting_reply(None) is None


@pytest.fixture(scope="module")
def contoso_roots_from_outside():
    """The contoso report as the README runs it: --roots names the samples' root, outside the case."""
    case = BY_NAME["contoso-kb2888788"]
    return build_report(exlab.open_case(case.folder, roots=case.folder.parent / ROOTS_FILE, tz=case.truth["tz"]))


@pytest.mark.slow
def test_the_counts_of_inputs_agree_and_every_label_says_what_it_counts(contoso_roots_from_outside):
    report, case = contoso_roots_from_outside, BY_NAME["contoso-kb2888788"]
    inputs = next(table for table in report.details if table.title == "Every input, with its SHA-256")
    read = inputs.table[~inputs.table["format"].str.startswith("not read")]
    unread = len(inputs.table) - len(read)
    assert unread and "truth.json" not in set(read["file"])
    assert f"from {len(read)} input files read of case {case.name} ({unread} file" in report.made
    assert inputs.note.startswith(f"{len(inputs.table)} files: {len(read)} read, {unread} not read")
    assert f"repeated from the {len(read)} files read" in inputs.note
    assert inputs.table["file"].is_unique, "two files of one name are told apart"
    assert "lab-public-root.pem (outside the case)" in set(read["file"])
    assert "lab-public-root.pem" in set(inputs.table["file"]) - set(read["file"]), "the case's own, not read"
    # the sessions delivered: 22 in all (the figure), those after the last failure in the finding, said so
    alts = _alts_by_title(render_html(report))
    delivered = case.truth["counts"]["delivered_sessions"]
    assert f"{delivered} delivered" in alts["SMTP send sessions by presented certificate."]
    opened = exlab.open_case(case.folder, roots=case.roots, tz=case.truth["tz"])
    last = opened.timeline().points["time"].max()
    after = int((_delivered_sessions(opened)["start"] > last).sum())
    assert 0 < after < delivered
    assert any(t.title.startswith(f"Finding (context): {after} session(s) delivered mail after the last failure ")
               for t in report.details)


def _both_source_servers_failing():
    """litware with LWEX01's internal certificate imported on LWEX02 too: both source servers of the
    connector present it and Exchange Online refuses both."""
    litware = lab_case("litware-servers")
    shared = tuple(dataclasses.replace(c, servers=("LWEX01", "LWEX02")) if c.key == "internal" else c
                   for c in litware.certificates)
    return dataclasses.replace(litware, case="litware-both-fail", certificates=shared)


def _outage(folder, roots, scenario) -> dict:
    """What the timeline, the case's diagnosis and the report model say about the outage (times to the
    millisecond the protocol log keeps)."""
    case = exlab.open_case(folder, roots=roots, tz=scenario.tz, culture=scenario.culture)
    timeline, d, report = case.timeline(), case.diagnose(), build_report(case)
    points = timeline.points.assign(time=timeline.points["time"].dt.floor("ms"))
    return {"points": len(points), "failures": d.failures, "affected": report.affected, "window": report.window,
            "per server": points.groupby("server")["time"].agg(["size", "min", "max"]).to_dict("index"),
            "origins": points.groupby("server")["origin"].agg(lambda o: "+".join(sorted(set(o)))).to_dict(),
            "timeline": (points["time"].min(), points["time"].max()),
            "diagnosis": (d.onset.floor("ms"), d.end.floor("ms")),
            "figure": next(f.alt for f in report.figures if f.title.startswith("Failed deliveries")),
            "episodes": _episodes(report), "recoveries": timeline.recoveries["server"].tolist(),
            "servers": [(v.server, v.verdict, v.failures, v.fix) for v in report.servers]}


def _episodes(report) -> list[list[str]]:
    table = next(t.table for t in report.details if t.title == "Episodes of failures")
    return table.values.tolist()


@pytest.fixture(scope="module")
def both_failing(tmp_path_factory):
    """The case generated once, and a copy without LWEX02's event export (an engineer copies what they can
    reach: only LWEX02's logs): the truth, and what each copy says about the outage."""
    scenario, out = _both_source_servers_failing(), tmp_path_factory.mktemp("cases")
    generated = generate_case(scenario, out, events=20)
    without = shutil.copytree(generated.folder, out / "without-lwex02-events")
    (without / "LWEX02" / "Application.evtx").unlink()
    truth = json.loads((generated.folder / "truth.json").read_text(encoding="utf-8"))
    return truth, {name: _outage(folder, out / ROOTS_FILE, scenario)
                   for name, folder in (("whole", generated.folder), ("without LWEX02 events", without))}


@pytest.mark.slow
def test_servers_with_events_and_logs_count_each_failed_attempt_once(both_failing):
    """Each failed attempt shows as an event 2004 and a refused session (and a deferred message as a DEFER
    row): the timeline, the diagnosis and the report count it once, from the events, as they did."""
    truth, outages = both_failing
    outage, counts = outages["whole"], truth["counts"]
    assert outage["points"] == outage["failures"] == counts["events_2004"] == counts["failed_sessions"]
    assert {server: n["size"] for server, n in outage["per server"].items()} == {
        f"{name.lower()}.litwareinc.com": n for name, n in counts["failed_sessions_by_server"].items() if n}
    assert set(outage["origins"].values()) == {"event"}
    onset, end = (pd.Timestamp(truth[key]).floor("ms") for key in ("onset", "end"))
    assert outage["timeline"] == outage["diagnosis"] == (onset, end)
    assert outage["affected"] == ["lwex01.litwareinc.com", "lwex02.litwareinc.com"]
    assert f": {counts['events_2004']} failures in " in outage["figure"]
    assert [(server, failures) for server, _, failures, _ in outage["servers"]] == [
        (f"{name.lower()}.litwareinc.com", n) for name, n in counts["failed_sessions_by_server"].items()]


@pytest.mark.slow
def test_a_server_whose_event_log_was_not_collected_keeps_the_failures_its_protocol_log_shows(both_failing):
    """LWEX02's Application log was not collected: its protocol log shows its refusals, and the timeline,
    the case's count of attempts, its window, the affected servers, each server's answer and the report's
    figure, episodes and recoveries say what the whole evidence says (they held LWEX01's events only)."""
    _, outages = both_failing
    whole, without = outages["whole"], outages["without LWEX02 events"]
    assert {key: value for key, value in without.items() if key != "origins"} == {
        key: value for key, value in whole.items() if key != "origins"}
    assert without["origins"] == {"lwex01.litwareinc.com": "event", "lwex02.litwareinc.com": "session"}
