"""One self-contained HTML report of an investigation, for colleagues without Python.

The report *is* the investigation notebook (``notebooks/03-root-cause.ipynb``): papermill
executes it on the case, nbconvert renders it without code. Notebook and report therefore
tell the same story, computed by the same cells; there is no second template to drift.
The HTML fetches nothing (no require.js, MathJax or widget scripts), embeds its figures,
and carries no path of the engineer's machine: the cells that hold paths (papermill's
parameters) are removed before rendering. Each figure says what it shows in its ``alt``:
the notebook displays it with ``exlab.plots.image_alt`` metadata, which the template
(``report_template/exlab-report``) writes into the image, HTML-escaped.

>>> REPORT_NOTEBOOK
'03-root-cause.ipynb'
>>> (notebooks_dir() / REPORT_NOTEBOOK).is_file()
True
"""

from __future__ import annotations

import html
import logging
import tempfile
from collections.abc import Iterable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import nbformat
import pandas as pd
from nbconvert import HTMLExporter
from nbconvert.preprocessors import TagRemovePreprocessor

from exlab import __version__
from exlab.errors import EvidenceNotFound, ExlabError
from exlab.bundle import is_bundle
from exlab.evidence import outside_evidence

log = logging.getLogger(__name__)

REPORT_NOTEBOOK = "03-root-cause.ipynb"
# Cells whose content must never reach a report: papermill's parameters hold local paths.
HIDDEN_TAGS = ("parameters", "injected-parameters", "report-hide")
_TEMPLATES = Path(__file__).with_name("report_template")


def notebooks_dir() -> Path:
    """The folder of exlab's notebooks: ``notebooks/`` beside the package in a checkout (an
    editable install), else the copy a wheel carries inside the package."""
    package = Path(__file__).resolve().parent
    for folder in (package.parent / "notebooks", package / "notebooks"):
        if (folder / REPORT_NOTEBOOK).is_file():
            return folder
    raise ExlabError(str(package.parent / "notebooks"), expected="exlab's notebooks",
                     detail="neither beside the package nor inside it: reinstall exlab")


def execute_notebook(name: str, parameters: dict, *, timeout: int = 900) -> nbformat.NotebookNode:
    """Run one of exlab's notebooks with papermill and return the executed notebook.

    The notebook runs with its own folder as working directory; the executed copy is written
    to a temporary folder, never next to the evidence.
    """
    import papermill  # imported here: it pulls in a kernel client, slow to import

    source = notebooks_dir() / name
    with tempfile.TemporaryDirectory(prefix="exlab-run-") as tmp:
        executed = Path(tmp) / name
        try:
            papermill.execute_notebook(
                str(source), str(executed), parameters=parameters, cwd=str(source.parent),
                kernel_name="python3", progress_bar=False, log_output=False, execution_timeout=timeout,
            )
        except papermill.PapermillExecutionError as err:
            raise ExlabError(name, f"cell {err.exec_count}", "the notebook to run through",
                             f"{err.ename}: {err.evalue}") from None
        return nbformat.read(executed, as_version=4)


def render_html(notebook: nbformat.NotebookNode, *, title: str) -> str:
    """The executed notebook as one HTML page: no code, no prompts, figures embedded."""
    notebook.metadata["title"] = title
    notebook.metadata.pop("papermill", None)  # holds the input and output paths
    notebook.metadata.pop("widgets", None)
    for cell in notebook.cells:
        if cell.cell_type == "code":
            cell.outputs = [output for output in cell.outputs if _for_readers(output)]
    exporter = HTMLExporter(
        template_name="exlab-report", extra_template_basedirs=[str(_TEMPLATES)],
        exclude_input=True, exclude_input_prompt=True, exclude_output_prompt=True, embed_images=True,
    )
    exporter.register_preprocessor(TagRemovePreprocessor(remove_cell_tags=set(HIDDEN_TAGS), enabled=True),
                                   enabled=True)
    body, _ = exporter.from_notebook_node(notebook)
    return body


def _for_readers(output: Any) -> bool:
    """Whether a cell output belongs in a report: not stderr (progress bars, warnings
    already counted in the parse report) and not an interactive widget."""
    if output.get("output_type") == "stream":
        return output.get("name") != "stderr"
    return "application/vnd.jupyter.widget-view+json" not in output.get("data", {})


def write_report(case_folder: str | Path, output: str | Path, *, server_fqdn: str | None = None,
                 connector: str | None = None, roots: str | Path | None = None,
                 tz: str | None = None, culture: str | None = None, follow_links: bool = False) -> Path:
    """Investigate ``case_folder`` and write the HTML report to ``output``; returns its path.

    Refuses to write inside the evidence folder: evidence stays as it was exported.
    ``follow_links`` reads what links in the folder point to outside it (``open_case``).
    """
    case_folder = Path(case_folder).resolve()
    if not (case_folder.is_dir() or is_bundle(case_folder)):
        raise EvidenceNotFound(str(case_folder), expected="a folder (or .zip) of exported evidence")
    output = outside_evidence(output, [case_folder])
    parameters = {
        "case_folder": str(case_folder),
        "roots": str(Path(roots).resolve()) if roots else None,
        "server_fqdn": server_fqdn,
        "connector": connector,
        "tz": tz,
        "culture": culture,
        "follow_links": follow_links,
    }
    log.info("executing %s on %s", REPORT_NOTEBOOK, case_folder.name)
    executed = execute_notebook(REPORT_NOTEBOOK, parameters)
    html = render_html(executed, title=f"exlab report: {case_folder.name}")
    output.write_text(html, encoding="utf-8")
    return output


def inputs_table(case: Any) -> pd.DataFrame:
    """Every input of a case with its SHA-256 and what was read, in file order (a Case
    already names its files relative to its folder).

    >>> from exlab.parse_report import ParseReport
    >>> from types import SimpleNamespace
    >>> report = ParseReport()
    >>> _ = report.add_file("events/App.evtx", sha256="ab" * 32, format="evtx", engine="evtx")
    >>> _ = report.add_file("certs/mail.cer", sha256="cd" * 32, format="der")
    >>> inputs_table(SimpleNamespace(reports=report))[["file", "format"]].values.tolist()
    [['certs/mail.cer', 'der'], ['events/App.evtx', 'evtx']]
    """
    return case.reports.to_frame().sort_values("file", kind="stable").reset_index(drop=True)


def provenance(case: Any, *, now: datetime | None = None) -> str:
    """One Markdown line saying what made this analysis, when, and from how many inputs.

    >>> from types import SimpleNamespace
    >>> from exlab.parse_report import ParseReport
    >>> line = provenance(SimpleNamespace(folder="/x/contoso", reports=ParseReport()),
    ...                   now=datetime(2025, 3, 21, 12, 0, tzinfo=timezone.utc))
    >>> line.endswith("on 2025-03-21 12:00:00 UTC from 0 input file(s) of case contoso.")
    True
    """
    now = now or datetime.now(timezone.utc)
    return (f"Made by exlab {__version__} on {now:%Y-%m-%d %H:%M:%S} UTC from {len(case.reports.files)} "
            f"input file(s) of case {safe_markdown(Path(case.folder).name)}.")


def safe_markdown(value: Any) -> str:
    """Evidence text made inert inside Markdown: HTML escaped, Markdown punctuation escaped.

    >>> print(safe_markdown("<script>alert(1)</script> *x* [a](b)"))
    &lt;script&gt;alert(1)&lt;/script&gt; \\*x\\* \\[a\\](b)
    """
    text = html.escape(str(value))
    return "".join("\\" + ch if ch in "\\`*_[]#|~" else ch for ch in text)


def commands_html(steps: Iterable[Any], *, empty: str | None = None) -> str:
    """Steps (``purpose`` and ``command``) as HTML: each purpose, then its PowerShell in a block.

    Everything is escaped: connector names and thumbprints come from the evidence.

    >>> from exlab.analysis.remediation import Step
    >>> print(commands_html([Step("Restart", "Restart-Service MSExchangeTransport")]))
    <ol><li><p>Restart</p><pre><code class="language-powershell">Restart-Service MSExchangeTransport</code></pre></li></ol>
    """
    steps = list(steps)
    if not steps:
        return f"<p>{html.escape(empty)}</p>" if empty else ""
    items = []
    for step in steps:
        item = f"<p>{html.escape(step.purpose)}</p>"
        if step.command:
            item += f'<pre><code class="language-powershell">{html.escape(step.command)}</code></pre>'
        items.append(f"<li>{item}</li>")
    return "<ol>" + "".join(items) + "</ol>"
