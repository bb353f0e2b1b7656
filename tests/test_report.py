"""The HTML report: verdict, culprit, commands and figures, self-contained, no local paths,
and readable in a real browser."""

from __future__ import annotations

import os
import re

import pytest

from exlab.cli import main
from exlab.errors import ExlabError
from exlab.report import write_report
from tests.browser import chromium, open_in_browser
from tests.samples import sample_cases

CASES = sample_cases()


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
