"""The notebooks: committed clean, each runs on every sample case to that case's verdict (told in
the report's words), every figure with its alternative text, warnings listed once in words, and a
wrong case folder said in one line instead of a traceback."""

from __future__ import annotations

import html
import json

import nbformat
import pytest

from exlab.report import execute_notebook, notebooks_dir
from exlab.report.model import VERDICT_WORDS
from tests.samples import sample_cases

NOTEBOOKS = sorted(p.name for p in notebooks_dir().glob("*.ipynb"))


def test_the_guided_notebooks_are_there():
    assert NOTEBOOKS == ["00-start-here.ipynb", "01-timeline-2004.ipynb", "02-certificate-issuers.ipynb",
                         "03-root-cause.ipynb", "04-fleet.ipynb"]


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebook_is_committed_without_outputs_and_without_lab_settings(name):
    notebook = json.loads((notebooks_dir() / name).read_text(encoding="utf-8"))
    code = [cell for cell in notebook["cells"] if cell["cell_type"] == "code"]
    assert all(not cell["outputs"] and cell["execution_count"] is None for cell in code)
    assert "parameters" in code[0]["metadata"].get("tags", []), "the first code cell holds the parameters"
    assert notebook["metadata"]["kernelspec"]["name"] == "python3"
    parameters = "".join(code[0]["source"])
    for lab_value in ("data/samples", "lab-public-root", "Europe/", "America/"):
        assert lab_value not in parameters, "the case's settings live in its exlab-case.toml, not in the notebook"


def _texts(notebook) -> str:
    parts = []
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            if output.get("output_type") == "stream":
                parts.append(output["text"])
            for mime in ("text/plain", "text/markdown", "text/html"):
                if mime in output.get("data", {}):
                    parts.append(output["data"][mime])
    return html.unescape("\n".join(parts).replace("\\", ""))   # Markdown and HTML escapes of evidence text


def _image_alts(notebook) -> list[str | None]:
    """The alternative text of every image output, in order (None where one has none)."""
    return [output.get("metadata", {}).get(mime, {}).get("alt")
            for cell in notebook.cells for output in cell.get("outputs", [])
            for mime in output.get("data", {}) if mime.startswith("image/")]


def _stderr(notebook) -> list[str]:
    return [output["text"] for cell in notebook.cells for output in cell.get("outputs", [])
            if output.get("output_type") == "stream" and output.get("name") == "stderr"]


# the figures each notebook draws on the contoso case, which has every kind of evidence
CONTOSO_FIGURES = {"00-start-here.ipynb": 0, "01-timeline-2004.ipynb": 1, "02-certificate-issuers.ipynb": 1,
                   "03-root-cause.ipynb": 3, "04-fleet.ipynb": 0}


def verdict_words(case) -> str:
    return VERDICT_WORDS[case.truth["verdict"]]


@pytest.mark.slow
@pytest.mark.parametrize("case", sample_cases(), ids=lambda c: c.name)
@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebook_runs_to_the_case_verdict_with_every_figure_in_words(name, case):
    executed = execute_notebook(name, {"case_folder": str(case.folder)})   # the rest from exlab-case.toml
    errors = [o for c in executed.cells for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert not errors
    assert not _stderr(executed), "no warning box: warnings are listed in words"
    texts = _texts(executed)
    assert verdict_words(case) in texts
    assert f"time zone {case.truth['tz']} (from exlab-case.toml)" in texts
    if name == "03-root-cause.ipynb" and case.truth.get("culprit"):
        assert case.truth["culprit"] in texts
    alts = _image_alts(executed)
    assert all(alt and alt.strip() for alt in alts), f"every figure has alternative text: {alts}"
    if case.name == "contoso-kb2888788":
        assert len(alts) == CONTOSO_FIGURES[name]
        assert all(case.truth["culprit"][:8] in alt for alt in alts), "each figure's text names the culprit"


def _case(name: str):
    return next(c for c in sample_cases() if c.name == name)


@pytest.mark.slow
def test_the_presented_certificate_reads_as_untrusted_beside_a_table_that_says_so():
    texts = _texts(execute_notebook("02-certificate-issuers.ipynb", {"case_folder": str(_case("contoso-kb2888788").folder)}))
    assert "Exchange Online does not trust it" in texts.replace("*", "")
    assert "trusts it is not known" not in texts
    assert "Why this one: It covers" in texts and "failure.." not in texts      # one full stop


@pytest.mark.slow
def test_the_timeline_shows_get_queues_last_error_where_the_case_holds_it():
    texts = _texts(execute_notebook("01-timeline-2004.ipynb", {"case_folder": str(_case("contoso-kb2888788").folder)}))
    assert "**The transport queues.** A queue's last error is Exchange Online's answer" in texts
    assert "EXCHANGE3" in texts      # the queue EXCHANGE\\3 (_texts drops backslashes, Markdown's escapes)
    assert "454 4.7.0 Failed to establish appropriate TLS channel: UntrustedRoot: Access Denied" in texts
    quiet = _texts(execute_notebook("01-timeline-2004.ipynb", {"case_folder": str(_case("northwind-quiet").folder)}))
    assert "The transport queues." not in quiet and "Get-Queue showed" not in quiet


@pytest.mark.slow
def test_the_timeline_lists_every_server_over_the_whole_outage():
    case = _case("litware-servers")
    texts = _texts(execute_notebook("01-timeline-2004.ipynb", {"case_folder": str(case.folder)}))
    failing = case.truth["server_fqdn"]
    quiet = sorted(a["fqdn"] for a in case.truth["server_verdicts"].values() if a["fqdn"] != failing)
    assert f"Failures came from {failing}; {', '.join(quiet)} logged none." in texts
    assert "2025-10-14 09:00:14" in texts     # the onset, in the servers' zone (America/Los_Angeles)


@pytest.mark.slow
def test_root_cause_shows_every_server_with_its_verdict_the_fix_once_and_the_details_folded():
    case = _case("litware-servers")
    executed = execute_notebook("03-root-cause.ipynb", {"case_folder": str(case.folder)})
    texts = _texts(executed)
    for answer in case.truth["server_verdicts"].values():
        assert answer["fqdn"] in texts
    assert "not a source transport server of connector" in texts and "no failure in its evidence" in texts
    assert texts.count("-Server lwex01.litwareinc.com -Services IMAP,POP,IIS") == 1
    assert "the lab case's answer, not evidence" in texts      # the inventory's unused files, in the details
    tables = [o["data"]["text/html"] for o in executed.cells[-1].outputs if "<table" in o.get("data", {}).get("text/html", "")]
    folded = [t.partition('<div class="exlab">')[2].startswith("<details>") for t in tables]   # after the layout style
    assert tables and all(folded), "03 ends with its evidence folded, not dumped"
    assert any("SHA-256" in t for t in tables)


@pytest.mark.slow
def test_root_cause_says_the_verify_step_once_and_collects_more_only_as_the_report_does():
    """woodgrove-expired is settled (ruled out) and still lists evidence to collect: 03 says it completes the evidence,
    as the report does ("not needed for the verdict"), not that the verdict needs it; the Verify step's purpose is
    said once (it was said before its command and again as the command's own line)."""
    texts = _texts(execute_notebook("03-root-cause.ipynb", {"case_folder": str(_case("woodgrove-expired").folder)}))
    assert "To complete the evidence" in texts and "not enough for a firmer verdict" not in texts
    assert "Then verify." in texts and texts.count("After the fix, watch the queue to Exchange Online") == 1


@pytest.mark.slow
def test_warnings_are_listed_once_in_words_naming_the_file():
    texts = _texts(execute_notebook("00-start-here.ipynb", {"case_folder": str(_case("litware-servers").folder)}))
    assert "exlab noted" in texts
    assert texts.count("LWEX02/Get-ExchangeCertificate.txt: the day/month order of its dates is ambiguous") == 1
    assert "exlab/" not in texts.replace("exlab-case", "")   # no line of exlab's source


@pytest.mark.slow
def test_a_wrong_case_folder_is_one_short_message_not_a_traceback(tmp_path):
    import papermill

    output = tmp_path / "out.ipynb"
    wrong = tmp_path / "no-such-case"
    with pytest.raises(papermill.PapermillExecutionError):
        papermill.execute_notebook(str(notebooks_dir() / "01-timeline-2004.ipynb"), str(output),
                                   parameters={"case_folder": str(wrong)}, cwd=str(notebooks_dir()),
                                   kernel_name="python3", progress_bar=False)
    errors = [o for c in nbformat.read(output, as_version=4).cells for o in c.get("outputs", [])
              if o.get("output_type") == "error"]
    assert len(errors) == 1
    assert errors[0]["traceback"] == [f"exlab: {wrong}: expected a folder (or .zip) of exported evidence "
                                      "(no such file or folder: check case_folder)"]


@pytest.mark.slow
def test_a_notebook_run_prints_nothing_of_its_kernel(capfd):
    # the kernel's channels are encrypted (no "running over TCP without encryption") and the kernel is
    # stopped by the run (no "parent appears to have exited" when the caller ends)
    execute_notebook("00-start-here.ipynb", {"case_folder": str(_case("contoso-kb2888788").folder)})
    assert capfd.readouterr().err == ""


@pytest.mark.slow
def test_a_line_feed_in_evidence_never_makes_a_heading_or_a_list_item_of_its_own(tmp_path):
    """The notebooks' sentences are Markdown: a file name holding a line feed and ``- ...`` made
    a list item of evidence text (and ``===`` a heading); it stays inside its sentence, as ``\\n``."""
    import shutil

    case = tmp_path / "case"
    shutil.copytree(_case("fabrikam-healthy").folder, case)
    hostile = "fl\n- KB 2888788: confirmed\n===.txt"         # its dates ambiguous: a warning names it
    shutil.copy(_case("litware-servers").folder / "LWEX02" / "Get-ExchangeCertificate.txt", case / "certs" / hostile)
    executed = execute_notebook("00-start-here.ipynb", {"case_folder": str(case)})
    said = "\n".join(o["data"]["text/markdown"] for c in executed.cells for o in c.get("outputs", [])
                      if "text/markdown" in o.get("data", {}))
    assert "- certs/fl\\\\n- KB 2888788: confirmed\\\\n===.txt: the day/month order" in said   # \n, its \\ escaped
    assert str(tmp_path) not in said         # named in the case, as the report names it
    assert not [line for line in said.splitlines() if line.startswith(("- KB", "==="))]


@pytest.mark.slow
@pytest.mark.parametrize("name", NOTEBOOKS)
def test_a_case_of_events_only_runs_through_every_notebook_saying_what_to_collect(name, tmp_path):
    import shutil

    contoso = _case("contoso-kb2888788").folder
    case = tmp_path / "events-only"
    shutil.copytree(contoso / "events", case / "events")
    for settings in ("exlab-case.toml", "lab-public-root.pem"):
        shutil.copy(contoso / settings, case)
    executed = execute_notebook(name, {"case_folder": str(case)})
    texts = _texts(executed)
    assert VERDICT_WORDS["inconclusive"] in texts
    if name == "02-certificate-issuers.ipynb":
        assert "No certificate export in this case" in texts.replace("*", "")
        assert "Get-ExchangeCertificate | Format-List * > C:" in texts    # the command that collects them
