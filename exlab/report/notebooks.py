"""exlab's notebooks: where they are, running one on a case, and the HTML and Markdown
helpers their cells use to show evidence text safely.

>>> (notebooks_dir() / "03-root-cause.ipynb").is_file()
True
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from exlab.errors import ExlabError
from exlab.visible import visible_html

if TYPE_CHECKING:
    import nbformat

REPORT_NOTEBOOK = "03-root-cause.ipynb"   # the notebook a wheel must carry for notebooks_dir to find them


def notebooks_dir() -> Path:
    """The folder of exlab's notebooks: ``notebooks/`` beside the package in a checkout (an
    editable install), else the copy a wheel carries inside the package."""
    package = Path(__file__).resolve().parent.parent
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
    import nbformat   # imported here, as papermill: with jsonschema, about a second
    import papermill  # imported here: it pulls in a kernel client, slow to import
    from jupyter_client.manager import KernelManager

    source = notebooks_dir() / name
    # the kernel's channels encrypted (CurveZMQ) when pyzmq can: nothing the evidence says
    # travels in plain text, even on the loopback interface
    kernel = KernelManager(kernel_name="python3", transport_encryption="auto")
    with tempfile.TemporaryDirectory(prefix="exlab-run-") as tmp:
        executed = Path(tmp) / name
        try:
            papermill.execute_notebook(
                str(source), str(executed), parameters=parameters, cwd=str(source.parent),
                kernel_name="python3", progress_bar=False, log_output=False, execution_timeout=timeout, km=kernel,
            )
        except papermill.PapermillExecutionError as err:
            raise ExlabError(name, f"cell {err.exec_count}", "the notebook to run through",
                             f"{err.ename}: {err.evalue}") from None
        finally:
            if kernel.has_kernel:       # a kernel manager given to papermill is the caller's to stop
                kernel.shutdown_kernel(now=True)
        return nbformat.read(executed, as_version=4)


def commands_html(steps: Iterable[Any], *, empty: str | None = None) -> str:
    """Steps (``purpose`` and ``command``) as HTML: each purpose, then its PowerShell in a block.

    Everything is escaped: connector names and thumbprints come from the evidence.

    >>> from exlab.analysis.remediation import Step
    >>> print(commands_html([Step("Restart", "Restart-Service MSExchangeTransport")]))
    <ol><li><p>Restart</p><pre><code class="language-powershell">Restart-Service MSExchangeTransport</code></pre></li></ol>
    """
    steps = list(steps)
    if not steps:
        return f"<p>{visible_html(empty)}</p>" if empty else ""
    items = []
    for step in steps:
        item = f"<p>{visible_html(step.purpose)}</p>"
        if step.command:
            item += f'<pre><code class="language-powershell">{visible_html(step.command)}</code></pre>'
        items.append(f"<li>{item}</li>")
    return "<ol>" + "".join(items) + "</ol>"
