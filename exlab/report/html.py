"""The report as one self-contained HTML page: nothing fetched, figures embedded.

The page reads top down for the reader who has one minute: the answer and the fix on the
first screen (1280×900), then the proof, then the details collapsed (``<details>``), where
large tables sort and search offline (itables with its bundle inlined, ``connected=False``).
Every piece of evidence text is HTML-escaped; the page holds no path of the engineer's machine.

>>> page = render_html(Report("c<1>", "UTC", "made", "ruled_out", "Not KB 2888788", "s", "p", [], None, None,
...                           [], None, [], None, [], ["events"], []))
>>> "<h1>Not KB 2888788</h1>" in page and "c&lt;1&gt;" in page and "http" not in page
True
"""

from __future__ import annotations

import base64
import io
import json
import logging
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from exlab.bundle import is_bundle
from exlab.errors import EvidenceNotFound
from exlab.evidence import output_file, outside_evidence, writing
from exlab.report.model import (
    TIMELINE_TITLE,
    Command,
    Figure,
    Report,
    SessionProof,
    Table,
    build_report,
)
from exlab.report.people import PATH_SEPARATORS, PEOPLE_LAYOUT, html_table, path_html
from exlab.visible import visible, visible_html

if TYPE_CHECKING:
    from exlab.case import Case

log = logging.getLogger(__name__)
e = visible_html

STYLE = """
*{box-sizing:border-box}
body{margin:0;font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1b1f24;background:#fff}
main{max-width:1240px;margin:0 auto;padding:12px 20px 40px;overflow-wrap:break-word}
header.meta{font-size:13px;color:#57606a;display:flex;justify-content:space-between;gap:12px;flex-wrap:wrap}
h1{font-size:26px;margin:6px 0 4px}
h2{font-size:19px;margin:22px 0 8px;border-bottom:1px solid #d0d7de;padding-bottom:3px}
h3{font-size:16px;margin:14px 0 6px}
.top{display:grid;grid-template-columns:minmax(0,1fr) minmax(0,1fr);gap:22px;align-items:start}
.answer{border-left:6px solid #57606a;padding:2px 0 2px 14px}
.confirmed .answer{border-color:#cf222e}.ruled_out .answer{border-color:#1a7f37}
.inconclusive .answer,.ruled_out.failing .answer{border-color:#bf8700}
.summary{margin:4px 0 8px}
dl.facts{display:grid;grid-template-columns:9.5em minmax(0,1fr);gap:3px 10px;margin:6px 0;font-size:14px}
dl.facts dt{color:#57606a}dl.facts dd{margin:0;overflow-wrap:anywhere}
.mono,code,pre{font-family:ui-monospace,SFMono-Regular,Consolas,monospace;font-size:12.5px}
ol.steps{margin:4px 0;padding-left:22px}ol.steps li{margin:0 0 6px}ol.steps p{margin:0 0 2px}
pre{margin:2px 0;padding:6px 8px;background:#f6f8fa;border:1px solid #d0d7de;border-radius:4px;
    white-space:pre-wrap;overflow-wrap:anywhere}
.expect{font-size:14px;margin:2px 0}
""" + PEOPLE_LAYOUT + """
table.people{border-collapse:collapse;font-size:13px}table.people caption{padding:2px 0}
table.people th,table.people td{border:1px solid #d0d7de;padding:3px 6px}
table.people th{background:#f6f8fa}table.servers{font-size:12.5px}
figure{margin:8px 0 14px}figure img{max-width:100%;height:auto;display:block}
figcaption{font-size:13px;color:#57606a}
details{border:1px solid #d0d7de;border-radius:4px;padding:4px 10px;margin:6px 0}
details>summary{cursor:pointer;font-weight:600}
.note{color:#57606a;font-size:13px;margin:2px 0 6px}
ul.tight{margin:2px 0;padding-left:20px}ul.tight li{margin:0}
.session{border:1px solid #d0d7de;border-radius:4px;padding:4px 10px;margin:6px 0;font-size:14px}
.session .outcome{font-weight:600}
.dt-container{max-width:100%;overflow:hidden}table.dataTable{width:100%!important;table-layout:fixed}
table.dataTable td,table.dataTable th{overflow-wrap:anywhere;white-space:normal!important}
table.dataTable th,table.dataTable td.path{overflow-wrap:break-word}
table.dataTable th.time{width:7.5em;text-align:left!important}table.dataTable td.time span{white-space:nowrap}
table.dataTable th.path{width:20%}
@media (max-width:900px),print{.top{grid-template-columns:minmax(0,1fr)}
    table.people{font-size:11.5px}.exlab table.people td{overflow-wrap:anywhere}table.dataTable td.path{overflow-wrap:anywhere}}
@media print{main{padding:0}figure,.session,pre,tr{break-inside:avoid}h2,h3{break-after:avoid}}
"""


def render_html(report: Report) -> str:
    """The report as one HTML page (a string). See the module's docstring."""
    interactive = any(table.interactive for table in report.details)
    head = (f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>exlab report: {e(report.case)}: {e(report.title)}</title><style>{STYLE}</style>"
            f"{_itables_bundle() if interactive else ''}</head>")
    failing = " failing" if report.window else ""
    body = [f'<body class="{e(report.verdict)}{failing}"><main class="exlab">',
            (f'<header class="meta"><span>exlab report, case <b>{e(report.case)}</b></span>'
             f"<span>All times in {e(report.tz)}</span></header>"),
            '<div class="top">', _answer(report), _action(report), "</div>",
            _proof(report), _details(report),
            f'<footer class="note">{e(report.made)}</footer>', "</main></body></html>"]
    return head + "".join(body)


# -- first screen ---------------------------------------------------------------------------

def _answer(report: Report) -> str:
    facts = [("Strength of proof", e(report.strength))]
    if report.trust:
        facts.append(("Also trusted", f"{e(report.trust)}<br>The trust judgements here count it as a root "
                                      "Exchange Online trusts: check it is the one you meant."))
    if report.culprit is not None:
        c = report.culprit
        facts += [("Culprit certificate", f'<span class="mono">{e(c.thumbprint)}</span><br>{e(c.subject)}'),
                  ("Issued by", f"{e(c.issuer)} ({e(c.issuer_class)})")]
        if c.valid_from:
            facts.append(("Valid", f"{e(c.valid_from)} to {e(c.valid_to)}"))
        if c.why:
            facts.append(("Why presented", e(c.why)))
    if report.culprit is None and report.presented is not None:
        c = report.presented
        facts += [("Certificate presented", f'<span class="mono">{e(c.thumbprint)}</span><br>{e(c.subject)}'),
                  ("Issued by", f"{e(c.issuer)} ({e(c.issuer_class)})")]
        if c.valid_from:
            facts.append(("Valid", f"{e(c.valid_from)} to {e(c.valid_to)}"))
    facts.append(("Send connector", e(report.connector) if report.connector else "not known from the evidence"))
    facts.append(("Affected servers", e(", ".join(report.affected)) if report.affected else "none"))
    facts.append(("Outage window", e(report.window) if report.window else "no failure in the evidence"))
    if report.times:        # an event export read in the wrong zone: its times, and the window, are off
        facts.append(("Times off", "<br>".join(e(text) for text in report.times)))
    rows = "".join(f"<dt>{name}</dt><dd>{value}</dd>" for name, value in facts)
    return (f'<section class="answer" aria-label="verdict"><h1>{e(report.title)}</h1>'
            f'<p class="summary">{e(report.summary)}</p><dl class="facts">{rows}</dl>{_servers(report)}</section>')


def _steps(steps: list[Command]) -> str:
    items = []
    for step in steps:
        command = f"<pre><code>{e(step.command)}</code></pre>" if step.command else ""
        items.append(f"<li><p>{e(step.purpose)}</p>{command}</li>")
    return f'<ol class="steps">{"".join(items)}</ol>'


def _action(report: Report) -> str:
    parts = ['<section class="action" aria-label="what to do">']
    if report.fix:
        parts.append("<h2>The fix</h2><p class=\"note\">Run in the Exchange Management Shell, in this order; "
                     "each command is built from this case's evidence.</p>" + _steps(report.fix))
    if report.put_back:
        commands = "\n".join(e(command) for command in report.put_back)
        parts.append("<details class=\"put-back\"><summary>To put back what the fix changes</summary>"
                     "<p class=\"note\">Last step first; the failures come back with it.</p>"
                     f"<pre><code>{commands}</code></pre></details>")
    if report.verify is not None:
        v = report.verify
        parts.append(f"<h3>Verify</h3><p>{e(v.purpose)}</p><pre><code>{e(v.command)}</code></pre>"
                     f'<p class="expect"><b>Expect:</b> {e(v.expect)}</p>')
    if report.collect and report.verdict == "inconclusive":
        parts.append("<h2>What to collect next</h2>" + _steps(report.collect))
    if not report.fix and report.verdict != "inconclusive":
        parts.append("<h2>What to do</h2><p>No change is needed for KB 2888788.</p>")
    parts.append(_checked(report))
    return "".join(parts) + "</section>"


def _checked(report: Report) -> str:
    checked = "".join(f"<li>{e(item)}</li>" for item in report.checked) or "<li>nothing</li>"
    unchecked = "".join(f"<li>{e(item)}</li>" for item in report.not_checked) or "<li>nothing: every kind was read</li>"
    more = ""
    if report.collect and report.verdict != "inconclusive":
        more = "<h3>To complete the evidence (not needed for the verdict)</h3>" + _steps(report.collect)
    return (f'<details{" open" if report.verdict != "confirmed" else ""}><summary>What was checked, and what was not'
            f'</summary><h3>Checked</h3><ul class="tight">{checked}</ul>'
            f'<h3>Not checked</h3><ul class="tight">{unchecked}</ul>{more}</details>')


def _servers(report: Report) -> str:
    """The verdict of each server, its strength of proof in short, its fix and why."""
    if not report.servers:
        return ""
    rows = "".join(f"<tr><td>{e(v.server)}</td><td>{e(v.in_words)} ({e(v.strength.split(':')[0])})</td>"
                   f'<td class="nowrap">{e(v.fix)}</td><td>{e(v.why)}</td></tr>' for v in report.servers)
    return ('<h3>Verdict per server</h3><table class="people servers"><thead><tr><th>server</th><th>verdict</th>'
            f'<th class="nowrap">fix</th><th>why</th></tr></thead><tbody>{rows}</tbody></table>')


# -- proof ----------------------------------------------------------------------------------

def _figure(figure: Figure) -> str:
    buffer = io.BytesIO()
    figure.figure.savefig(buffer, format="png", dpi=100)
    data = base64.b64encode(buffer.getvalue()).decode("ascii")
    return (f'<figure><img src="data:image/png;base64,{data}" alt="{e(figure.alt)}">'
            f"<figcaption>{e(figure.title)}</figcaption></figure>")


def _session(session: SessionProof) -> str:
    return (f'<div class="session"><span class="outcome">{e(session.outcome)}</span> at {e(session.time)}'
            f'{f" from {e(session.server)}" if session.server else ""}, session '
            f'<span class="mono">{e(session.session_id)}</span><br>Certificate presented: '
            f'<span class="mono">{e(session.certificate)}</span><br>Exchange Online replied: '
            f'<span class="mono">{e(session.reply)}</span><br><span class="note">{e(session.source)}</span></div>')


def _table(table: Table) -> str:
    note = f'<p class="note">{e(table.note)}</p>' if table.note else ""
    if table.interactive:
        return note + _itable(table)
    return note + html_table(table.table, wide=table.wide, paths=table.paths)


def _proof(report: Report) -> str:
    parts = ["<h2>The proof</h2>"]
    if report.window is None and any(figure.title == TIMELINE_TITLE for figure in report.figures):
        parts.append("<p>No failure through the case's send connector; the first figure shows the failures the "
                     "evidence holds through other connectors.</p>")
    elif report.window is None:
        parts.append("<p>No failed delivery in the evidence: there is no outage to draw.</p>")
    parts += [_figure(figure) for figure in report.figures]
    if report.sessions:
        parts.append("<h3>What the transport presented, and the reply (SMTP send protocol log)</h3>")
        parts += [_session(session) for session in report.sessions]
    if report.issuers is not None:
        parts.append(f"<h3>{e(report.issuers.title)}</h3>{_table(report.issuers)}")
    if report.chains is not None:
        parts.append(f"<details><summary>{e(report.chains.title)}</summary>{_table(report.chains)}</details>")
    if not (report.figures or report.sessions or report.issuers):
        parts.append("<p>The evidence holds no certificate export or protocol log to show.</p>")
    return "".join(parts)


# -- details --------------------------------------------------------------------------------

def _details(report: Report) -> str:
    parts = ["<h2>Details</h2>"]
    parts += [f"<details><summary>{e(table.title)}</summary>{_table(table)}</details>" for table in report.details]
    warnings = "".join(f"<li>{e(text)}</li>" for text in report.warnings) or "<li>none</li>"
    parts.append(f"<details><summary>Warnings while reading ({len(report.warnings)})</summary>"
                 f'<ul class="tight">{warnings}</ul></details>')
    if report.notes:
        notes = "".join(f"<li>{e(text)}</li>" for text in report.notes)
        parts.append(f'<details><summary>What was inferred</summary><ul class="tight">{notes}</ul></details>')
    return "".join(parts)


def _itables_bundle() -> str:
    """itables' DataTables bundle, inlined (its offline mode): nothing is fetched."""
    from itables import options
    from itables.javascript import generate_init_offline_itables_html

    return generate_init_offline_itables_html(options.dt_bundle)


def _shown_as_is(frame: pd.DataFrame) -> pd.DataFrame:
    """The frame with each text cell :func:`~exlab.visible.visible` (itables escapes tags, not control
    characters: a bidi override would reorder a file name on screen).

    >>> _shown_as_is(pd.DataFrame({"file": ["a\\u202etxt.exe", "b.log"], "rows": [1, 2]}))["file"].tolist()
    ['a\\\\u202etxt.exe', 'b.log']
    """
    texts = [column for column, dtype in frame.dtypes.items() if dtype == object or pd.api.types.is_string_dtype(dtype)]
    if not texts:
        return frame
    shown = frame.copy()
    for column in texts:
        shown[column] = frame[column].map(lambda value: visible(value) if isinstance(value, str) else value)
    return shown


def _itable(table: Table) -> str:
    """A sortable, searchable table (itables, offline); the cells are text, escaped by itables;
    file names (``paths``) shown with a ``<wbr>`` after each separator and a list of files one
    file a line, as in the other tables (:func:`~exlab.report.people.path_html`); sorted and
    searched as they are."""
    from itables import JavascriptFunction, to_html_datatable

    columns = list(table.table.columns)
    paths = [n for n, column in enumerate(columns) if column in table.paths]
    times = [n for n, column in enumerate(columns) if column in table.table.attrs.get("times", ())]
    words = JavascriptFunction("function (data, type) { return type === 'display' && typeof data === 'string' ? "
                               "data.split(' ').map(word => '<span>' + word + '</span>').join(' ') : data; }")
    breaks = JavascriptFunction("function (data, type) { return type === 'display' && typeof data === 'string' ? "
                                f"data.replace(new RegExp({json.dumps(PATH_SEPARATORS)}, 'g'), '$&<wbr>')"
                                ".split('; ').join('; <br>') : data; }")
    return to_html_datatable(_shown_as_is(table.table), connected=False, showIndex=False, classes="display compact",
                             display_logo_when_loading=False, lengthMenu=[10, 25, 100, -1], pageLength=10,
                             columnDefs=[*([{"targets": paths, "className": "path", "render": breaks}] if paths else []),
                                         *({"targets": n, "className": "time", "render": words,
                                            "title": path_html(str(columns[n]))} for n in times),
                                         {"className": "dt-left", "targets": "_all"}], maxBytes=0, maxRows=0,
                             layout={"topStart": "pageLength", "topEnd": "search", "bottomStart": "info",
                                     "bottomEnd": "paging"}, allow_html=False, autoWidth=False,
                             text_in_header_can_be_selected=False)   # a click on a header sorts, as readers expect


def save_report(case: Case, output: str | Path, *, pdf: str | Path | None = None) -> Path:
    """Write the report of an open ``case`` to ``output`` (HTML) and, when asked, the same
    page as ``pdf``; both outside the evidence folder. Returns the HTML file's path."""
    output = outside_evidence(output, [case.folder])
    pdf_path = outside_evidence(pdf, [case.folder]) if pdf else None
    page = render_html(build_report(case))
    with writing(output):
        output.write_text(page, encoding="utf-8")
    if pdf_path is not None:
        from exlab.report.pdf import write_pdf
        with writing(pdf_path):
            write_pdf(page, pdf_path)
    log.info("report of %s written", Path(case.folder).name)
    return output


def write_report(case_folder: str | Path, output: str | Path, *, pdf: str | Path | None = None,
                 server_fqdn: str | None = None, connector: str | None = None, roots: str | Path | None = None,
                 tz: str | None = None, culture: str | None = None, server_tz: dict[str, str] | None = None,
                 follow_links: bool = False) -> Path:
    """Investigate ``case_folder`` and write the HTML report to ``output`` (and the PDF to
    ``pdf`` when given); returns the HTML file's path. ``follow_links`` reads what links in the
    folder point to outside it (``open_case``).

    Refuses to write inside the evidence folder: evidence stays as it was exported.

    >>> import tempfile, pathlib
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     write_report(folder, pathlib.Path(folder) / "r.html")
    Traceback (most recent call last):
    ...
    exlab.errors.ExlabError: ...outside the evidence folder...
    """
    import exlab

    case_folder = Path(case_folder).resolve()
    if not (case_folder.is_dir() or is_bundle(case_folder)):
        raise EvidenceNotFound(str(case_folder), expected="a folder (or .zip) of exported evidence")
    output_file(output, [case_folder])
    if pdf:
        output_file(pdf, [case_folder])
    case = exlab.open_case(case_folder, server_fqdn=server_fqdn, connector=connector,
                           roots=Path(roots).resolve() if roots else None, tz=tz, culture=culture,
                           server_tz=server_tz, follow_links=follow_links)
    return save_report(case, output, pdf=pdf)
