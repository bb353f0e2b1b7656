"""The HTML report: verdict, culprit, commands and figures, self-contained, no local paths,
and readable in a real browser."""

from __future__ import annotations

import base64
import dataclasses
import io
import os
import re
from html.parser import HTMLParser

import nbformat
import pandas as pd
import pytest
from matplotlib.figure import Figure

from exlab.cli import main
from exlab.errors import ExlabError, NoEvidence
from exlab.lab.cases import case as lab_case
from exlab.lab.generate import ROOTS_FILE, generate_case
from exlab.plots import image_alt
from exlab.report import render_html, write_report
from tests.browser import chromium, open_in_browser
from tests.conftest import SAMPLES
from tests.samples import sample_cases

CASES = sample_cases()
# the figures' titles in notebooks/03-root-cause.ipynb: each alternative text starts with its own
FIGURE_TITLES = ("Failed deliveries to Exchange Online per hour.", "Certificates covering ",
                 "SMTP send sessions by presented certificate.")
NBCONVERT_PLACEHOLDER = "No description has been provided for this image"


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


@pytest.fixture(scope="module")
def reports(tmp_path_factory):
    """Each sample case's report, rendered once for the tests below."""
    out = tmp_path_factory.mktemp("reports")
    return {case.name: write_report(case.folder, out / f"{case.name}.html", roots=case.roots,
                                    tz=case.truth.get("tz")).read_text(encoding="utf-8")
            for case in CASES}


@pytest.mark.slow
@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_report_states_the_verdict_culprit_and_commands(case, reports):
    html = reports[case.name]
    assert case.headline in html
    if case.truth.get("culprit"):
        assert case.truth["culprit"] in html
    if case.truth["verdict"] == "confirmed":
        assert f"Enable-ExchangeCertificate -Thumbprint {case.truth['culprit']}" in html
    assert html.index(case.headline) < html.index("Timeline"), "the verdict comes first"


@pytest.mark.slow
@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_report_is_self_contained_and_carries_no_local_path(case, reports):
    html = reports[case.name]
    assert len(re.findall(r'<img[^>]+src="data:image/png;base64,', html)) >= 1
    assert "Figure size" not in html, "every figure is embedded as an image, none left as its text repr"
    assert not re.search(r'<(script|link|img)[^>]+(src|href)="(https?:)?//', html)
    for local in (str(case.folder), str(case.folder.parent.parent), os.path.expanduser("~"), "/tmp/"):
        assert local not in html
    assert "def " not in html and "import exlab" not in html, "no code in the report"
    for sha in _input_hashes(case):
        assert sha in html


def _input_hashes(case):
    import hashlib
    for path in sorted(case.folder.rglob("*")):
        if path.is_file() and path.name != "truth.json":
            yield hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.slow
def test_report_opens_in_a_browser_without_errors(tmp_path, reports):
    if chromium() is None:
        if os.environ.get("CI"):
            pytest.fail("Chromium is missing: .ci/run installs it")
        pytest.skip("Chromium is not installed (apt-get install chromium)")
    for name, html in reports.items():
        page = tmp_path / f"{name}.html"
        page.write_text(html, encoding="utf-8")
        seen = open_in_browser(page, tmp_path)
        assert seen["problems"] == [] and seen["console"] == [], name
        assert seen["images"], name
        assert all(img["width"] > 0 and img["height"] > 0 and img["natural"] > 0 for img in seen["images"]), name


def test_report_refuses_to_write_into_the_evidence(tmp_path):
    evidence = tmp_path / "case"
    evidence.mkdir()
    with pytest.raises(ExlabError, match="outside the evidence folder"):
        write_report(evidence, evidence / "report.html")
    assert list(evidence.iterdir()) == []


@pytest.mark.slow
@pytest.mark.parametrize("command", [["report", "-o"], ["investigate", "--report"]])
def test_report_from_the_command_line(command, tmp_path, capsys):
    case = CASES[0]
    output = tmp_path / "r.html"
    assert main([command[0], str(case.folder), command[1], str(output), "--roots", str(case.roots),
                 "--tz", case.truth["tz"]]) == 0
    assert case.headline in output.read_text(encoding="utf-8")


@pytest.mark.slow
@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_every_figure_says_in_words_what_it_shows(case, reports):
    alts = _Page(reports[case.name]).alts
    assert alts, "the report has figures"
    for alt in alts:
        assert alt and alt != NBCONVERT_PLACEHOLDER
        assert re.search(r"\d", alt), alt
    assert len(_alts_by_title(reports[case.name])) == len(alts)


@pytest.mark.slow
def test_figure_texts_carry_the_case_numbers(reports):
    case = next(c for c in CASES if c.name == "contoso-kb2888788")
    truth, counts, culprit = case.truth, case.truth["counts"], case.truth["culprit"]
    alts = _alts_by_title(reports[case.name])
    assert len(alts) == 3
    onset_hour = pd.Timestamp(truth["onset"]).tz_convert(truth["tz"]).floor("h").strftime("%Y-%m-%d %H:%M")
    failures = alts["Failed deliveries to Exchange Online per hour."]
    assert f"({truth['tz']}): {counts['events_2004']} failures in " in failures
    assert f"the first in the hour from {onset_hour}" in failures
    assert f"certificate {culprit[:8]} CN=mail.contoso.com by CN=Contoso Issuing CA 01, valid from" in failures
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
def test_a_connector_name_with_markup_stays_text_in_the_figure_text(tmp_path):
    contoso = lab_case("contoso-kb2888788")
    name = 'Out "<script>alert(1)</script>" & co'
    scenario = dataclasses.replace(contoso, case="contoso-markup",
                                   connector=dataclasses.replace(contoso.connector, name=name))
    generated = generate_case(scenario, tmp_path / "cases", events=50)
    html = write_report(generated.folder, tmp_path / "report.html", roots=tmp_path / "cases" / ROOTS_FILE,
                        tz=scenario.tz).read_text(encoding="utf-8")
    page = _Page(html)
    assert "script" not in page.tags, "evidence text never becomes an element"
    assert "<script>alert(1)" not in html
    sessions = _alts_by_title(html)["SMTP send sessions by presented certificate."]
    assert f'through send connector "{name}" from ' in sessions
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def _png() -> str:
    buffer = io.BytesIO()
    Figure(figsize=(1, 1)).savefig(buffer, format="png")
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def test_the_template_writes_the_output_alt_escaped_and_leaves_others_to_nbconvert():
    text = 'Sessions through "Out <script>x</script>" & co\'s: 3 rejected'
    figure = nbformat.v4.new_output("display_data", data={"image/png": _png(), "text/plain": "<Figure>"},
                                    metadata=image_alt(text))
    bare = nbformat.v4.new_output("display_data", data={"image/png": _png()})
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("display(fig)", outputs=[figure, bare])])
    html = render_html(notebook, title="t")
    page = _Page(html)
    assert page.alts == [text, NBCONVERT_PLACEHOLDER]
    assert "script" not in page.tags and "<script>x" not in html


def test_a_wheel_install_finds_the_notebooks_it_carries(tmp_path, monkeypatch):
    # a wheel has no notebooks/ beside the package: the build copies them into exlab/notebooks/
    from exlab import report

    packaged = tmp_path / "site-packages" / "exlab"
    (packaged / "notebooks").mkdir(parents=True)
    (packaged / "notebooks" / report.REPORT_NOTEBOOK).write_text("{}", encoding="utf-8")
    monkeypatch.setattr(report, "__file__", str(packaged / "report.py"))
    assert report.notebooks_dir() == packaged / "notebooks"
    (packaged / "notebooks" / report.REPORT_NOTEBOOK).unlink()
    with pytest.raises(ExlabError, match="expected exlab's notebooks"):
        report.notebooks_dir()


def test_the_culture_reaches_the_notebook_as_a_parameter(tmp_path, monkeypatch):
    import exlab.report as report

    given = {}
    monkeypatch.setattr(report, "execute_notebook", lambda notebook, parameters: given.update(parameters))
    monkeypatch.setattr(report, "render_html", lambda executed, title: "<html></html>")
    evidence = tmp_path / "case"
    evidence.mkdir()
    fl = SAMPLES / "fabrikam-healthy" / "certs" / "Get-ExchangeCertificate-fl.txt"
    (evidence / fl.name).write_bytes(fl.read_bytes())          # report refuses a folder with no evidence
    assert main(["report", str(evidence), "-o", str(tmp_path / "r.html"), "--culture", "en-AU"]) == 0
    assert given["culture"] == "en-AU"
    notebook = nbformat.read(report.notebooks_dir() / report.REPORT_NOTEBOOK, as_version=4)
    assert "culture=culture" in "".join(cell.source for cell in notebook.cells)


def test_follow_links_reaches_the_notebook_and_the_evidence_check(tmp_path, monkeypatch):
    import exlab.report as report

    given = {}
    monkeypatch.setattr(report, "execute_notebook", lambda notebook, parameters: given.update(parameters))
    monkeypatch.setattr(report, "render_html", lambda executed, title: "<html></html>")
    outside, evidence = tmp_path / "elsewhere", tmp_path / "case"
    outside.mkdir()
    evidence.mkdir()
    fl = SAMPLES / "fabrikam-healthy" / "certs" / "Get-ExchangeCertificate-fl.txt"
    (outside / fl.name).write_bytes(fl.read_bytes())
    (evidence / fl.name).symlink_to(outside / fl.name)        # the only evidence lies outside the folder
    assert main(["report", str(evidence), "-o", str(tmp_path / "r.html")]) == NoEvidence.exit_code
    assert given == {}
    assert main(["report", str(evidence), "-o", str(tmp_path / "r.html"), "--follow-links"]) == 0
    assert given["follow_links"] is True
    notebook = nbformat.read(report.notebooks_dir() / report.REPORT_NOTEBOOK, as_version=4)
    assert "follow_links=follow_links" in "".join(cell.source for cell in notebook.cells)
