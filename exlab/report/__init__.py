"""The report of an investigation: a model built once from a case, and its views.

* :mod:`exlab.report.model`: :func:`build_report` turns a :class:`~exlab.case.Case` into a
  :class:`Report` (verdicts, culprit, fix, proof, details) of plain dataclasses;
* :mod:`exlab.report.people`: frames as tables and words for people (what the report and
  the notebooks show);
* :mod:`exlab.report.html`: :func:`write_report` writes one self-contained HTML page;
* :mod:`exlab.report.pdf`: :func:`write_pdf` prints that page to PDF in headless Chromium.

>>> from exlab.report import build_report, people_table, write_report
>>> callable(build_report) and callable(people_table) and callable(write_report)
True
"""

from __future__ import annotations

from exlab.report.html import render_html, save_report, write_report
from exlab.report.model import (
    Certificate,
    Command,
    Figure,
    Report,
    ServerVerdict,
    SessionProof,
    Table,
    Verification,
    build_report,
    inputs_table,
    provenance,
)
from exlab.report.notebooks import (
    REPORT_NOTEBOOK,
    commands_html,
    execute_notebook,
    notebooks_dir,
)
from exlab.report.pdf import write_pdf
from exlab.report.people import (
    cell_text,
    duration,
    html_table,
    people_table,
    relative,
    times_in_text,
    timestamp,
)

__all__ = [
    "REPORT_NOTEBOOK", "Certificate", "Command", "Figure", "Report", "ServerVerdict", "SessionProof", "Table",
    "Verification", "build_report", "cell_text", "commands_html", "duration", "execute_notebook", "html_table",
    "inputs_table", "notebooks_dir", "people_table", "provenance", "relative", "render_html", "save_report",
    "times_in_text", "timestamp", "write_pdf", "write_report",
]
