"""The notebooks: committed clean, and each runs on every sample case to that case's verdict, every
figure with its alternative text."""

from __future__ import annotations

import json

import pytest

from exlab.report import execute_notebook, notebooks_dir
from tests.samples import sample_cases

NOTEBOOKS = sorted(p.name for p in notebooks_dir().glob("*.ipynb"))


def test_the_guided_notebooks_are_there():
    assert NOTEBOOKS == ["00-start-here.ipynb", "01-timeline-2004.ipynb", "02-certificate-issuers.ipynb",
                         "03-root-cause.ipynb", "04-fleet.ipynb"]


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebook_is_committed_without_outputs(name):
    notebook = json.loads((notebooks_dir() / name).read_text(encoding="utf-8"))
    code = [cell for cell in notebook["cells"] if cell["cell_type"] == "code"]
    assert all(not cell["outputs"] and cell["execution_count"] is None for cell in code)
    assert "parameters" in code[0]["metadata"].get("tags", []), "the first code cell holds the parameters"
    assert notebook["metadata"]["kernelspec"]["name"] == "python3"


def _texts(notebook) -> str:
    parts = []
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            if output.get("output_type") == "stream":
                parts.append(output["text"])
            for mime in ("text/plain", "text/markdown", "text/html"):
                if mime in output.get("data", {}):
                    parts.append(output["data"][mime])
    return "\n".join(parts)


def _image_alts(notebook) -> list[str | None]:
    """The alternative text of every image output, in order (None where one has none)."""
    return [output.get("metadata", {}).get(mime, {}).get("alt")
            for cell in notebook.cells for output in cell.get("outputs", [])
            for mime in output.get("data", {}) if mime.startswith("image/")]


# the figures each notebook draws on the contoso case, which has every kind of evidence
CONTOSO_FIGURES = {"00-start-here.ipynb": 0, "01-timeline-2004.ipynb": 1, "02-certificate-issuers.ipynb": 1,
                   "03-root-cause.ipynb": 3, "04-fleet.ipynb": 0}


@pytest.mark.slow
@pytest.mark.parametrize("case", sample_cases(), ids=lambda c: c.name)
@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebook_runs_to_the_case_verdict_with_every_figure_in_words(name, case):
    executed = execute_notebook(name, case.parameters())
    errors = [o for c in executed.cells for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert not errors
    texts = _texts(executed).replace("\\", "")  # Markdown escapes of evidence text
    assert case.headline in texts
    if name == "03-root-cause.ipynb" and case.truth.get("culprit"):
        assert case.truth["culprit"] in texts
    alts = _image_alts(executed)
    assert all(alt and alt.strip() for alt in alts), f"every figure has alternative text: {alts}"
    if case.name == "contoso-kb2888788":
        assert len(alts) == CONTOSO_FIGURES[name]
        assert all(case.truth["culprit"][:8] in alt for alt in alts), "each figure's text names the culprit"


@pytest.mark.slow
def test_root_cause_shows_every_server_with_its_verdict_and_the_inventory():
    case = next(c for c in sample_cases() if c.name == "litware-servers")
    texts = _texts(execute_notebook("03-root-cause.ipynb", case.parameters())).replace("\\", "")
    for answer in case.truth["server_verdicts"].values():
        assert answer["fqdn"] in texts
    assert "not a source transport server of connector" in texts and "no failure in its evidence" in texts
    assert "-Server lwex01.litwareinc.com -Services IMAP,POP,IIS" in texts
    assert "the lab case's answer, not evidence" in texts      # the inventory's unused files
