"""What exlab's notebooks share in their first cell: ``case = start(case_folder)``.

:func:`start` opens the case with its settings (:mod:`exlab.settings`: ``exlab-case.toml`` in the
case folder, or values papermill passes), says in words which settings it used, from where, and
which are unknown, draws its progress as a widget (``tqdm.auto``), and from then on in the kernel:

* shows each warning once, as a short list in words naming the evidence file, under the cell
  that caused it (never a warning box naming a line of exlab's source);
* shows an :class:`~exlab.errors.ExlabError` (a wrong path, missing evidence, a file exlab cannot
  use) as the short message the ``exlab`` command prints, not as a traceback through exlab's code.

Outside IPython (a script, a doctest) it only opens the case.

>>> from exlab.errors import AssumptionWarning
>>> said_of(AssumptionWarning("read as UTC", "events/app.csv", "line 2"), AssumptionWarning)
'events/app.csv line 2: read as UTC'
>>> said_of(FutureWarning("a pandas change"), FutureWarning)
'FutureWarning: a pandas change'
"""

from __future__ import annotations

import html
import os
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

from exlab.errors import EvidenceNotFound, ExlabError, ExlabWarning
from exlab.settings import MEANINGS, SETTINGS_FILE, CaseSettings, case_settings
from exlab.visible import visible

#: The environment variable naming the case folder when the notebook's parameters do not.
CASE_VARIABLE = "EXLAB_CASE"


def said_of(message: Warning | str, category: type[Warning]) -> str:
    """One warning in words: the evidence file and place for exlab's own, the kind for others."""
    return message.located() if isinstance(message, ExlabWarning) else f"{category.__name__}: {message}"


class WarningList:
    """A ``warnings.showwarning`` that keeps each warning once and shows the new ones as one
    Markdown list under the cell that caused them (:meth:`flush`, after every cell).

    >>> from exlab.errors import AssumptionWarning
    >>> notes = WarningList()
    >>> for _ in range(2):
    ...     notes(AssumptionWarning("read as UTC", "events/app.csv", "line 2"), AssumptionWarning, "", 0)
    >>> print(notes.markdown())
    exlab noted 1 thing while reading (each is counted in the parse report):
    <BLANKLINE>
    - events/app.csv line 2: read as UTC
    >>> notes.markdown()
    ''

    Files are named relative to the case folder, as the report names them (a notebook shared
    with its outputs carries no path of the engineer's machine):

    >>> notes.name_files_from(Path("/cases/c1"))
    >>> notes(AssumptionWarning("read as UTC", "/cases/c1/certs/fl.txt", "line 9"), AssumptionWarning, "", 0)
    >>> notes.pending
    ['certs/fl.txt line 9: read as UTC']
    """

    def __init__(self) -> None:
        self.seen: set[str] = set()
        self.pending: list[str] = []
        self._removers: tuple[Callable[[str], str], ...] = ()

    def name_files_from(self, *folders: Path) -> None:
        """Name the files of these case folders (or zips) relative to them from now on."""
        from exlab.report.model import folder_remover

        self._removers = tuple(folder_remover(folder.parent if folder.is_file() else folder) for folder in folders)

    def __call__(self, message, category, filename, lineno, file=None, line=None) -> None:
        text = said_of(message, category)
        for remove in self._removers:
            text = remove(text)
        if text not in self.seen:
            self.seen.add(text)
            self.pending.append(text)

    def markdown(self) -> str:
        """The warnings not shown yet, as a Markdown list (evidence text escaped); '' if none."""
        if not self.pending:
            return ""
        things = "thing" if len(self.pending) == 1 else "things"
        lines = [f"exlab noted {len(self.pending)} {things} while reading (each is counted in the parse report):", ""]
        lines += [f"- {md(text)}" for text in self.pending]
        self.pending = []
        return "\n".join(lines)

    def flush(self, *_: Any) -> None:
        """Display the warnings not shown yet (an IPython ``post_run_cell`` callback)."""
        text = self.markdown()
        if text:
            from IPython.display import Markdown, display

            display(Markdown(text))


def short_error(shell: Any, etype: type, value: BaseException, tb: Any, tb_offset: int | None = None) -> list[str]:
    """Show an ExlabError as the ``exlab`` command says it: one short message, no traceback (an
    IPython custom exception handler; the cell still fails, so "Run All" stops there).

    >>> short_error(None, EvidenceNotFound, EvidenceNotFound("nowhere", expected="a folder"), None)
    ['exlab: nowhere: expected a folder']
    """
    message = [f"exlab: {visible(value)}"]
    if shell is not None:
        shell._showtraceback(etype, value, message)   # IPython discards what a handler returns
    return message


_WARNINGS = WarningList()


def _prepare_kernel() -> None:
    """In IPython: exlab's errors as short messages, warnings once in words after each cell."""
    try:
        from IPython import get_ipython
    except ImportError:
        return
    shell = get_ipython()
    if shell is None:
        return
    shell.run_line_magic("matplotlib", "inline")
    shell.set_custom_exc((ExlabError,), short_error)
    warnings.simplefilter("always", ExlabWarning)   # WarningList keeps each once
    warnings.showwarning = _WARNINGS
    if _WARNINGS.flush not in shell.events.callbacks["post_run_cell"]:
        shell.events.register("post_run_cell", _WARNINGS.flush)


def case_folder(given: str | Path | None) -> Path:
    """The case folder: the one given, else the :data:`CASE_VARIABLE` environment variable.

    >>> import tempfile
    >>> os.environ[CASE_VARIABLE] = tempfile.mkdtemp(prefix="contoso-")
    >>> case_folder(None).name.startswith("contoso-")
    True
    >>> del os.environ[CASE_VARIABLE]
    >>> for given in (None, "C:/exlab/no-such-case"):
    ...     try:
    ...         case_folder(given)
    ...     except EvidenceNotFound as err:
    ...         print(err.source, "|", err.problem[:40].strip())
    case_folder | expected the folder of exported evidence
    C:/exlab/no-such-case | expected a folder (or .zip) of exported
    """
    folder = given or os.environ.get(CASE_VARIABLE)
    if not folder:
        raise EvidenceNotFound("case_folder", "the notebook's parameters",
                               f"the folder of exported evidence: set case_folder in the first cell "
                               f"or the {CASE_VARIABLE} environment variable")
    folder = Path(folder).expanduser()
    if not folder.exists():
        raise EvidenceNotFound(str(folder), None, "a folder (or .zip) of exported evidence",
                               "no such file or folder: check case_folder")
    return folder


def _roots_named(roots: Any) -> str:
    """The trust anchors given, by file name (one PEM file, or several: ``roots=`` takes a list).

    >>> _roots_named(Path("case/lab-public-root.pem")), _roots_named(["a/one.pem", Path("two.pem")])
    ('lab-public-root.pem', 'one.pem, two.pem')
    """
    files = roots if isinstance(roots, (list, tuple)) else [roots]
    return ", ".join(Path(root).name if isinstance(root, (str, os.PathLike)) else str(root) for root in files)


def _setting_text(name: str, value: Any) -> str:
    """A setting's value as the notebooks say it: trust anchors by file name, servers' zones as ``EX02: zone``.

    >>> _setting_text("server_tz", {"EX02": "America/New_York"}), _setting_text("tz", "UTC")
    ('EX02: America/New_York', 'UTC')
    """
    if name == "roots":
        return _roots_named(value)
    if isinstance(value, dict):
        return ", ".join(f"{server}: {zone}" for server, zone in value.items())
    return str(value)


def settings_in_words(settings: CaseSettings, inferred: dict[str, str] | None = None) -> str:
    """What the case was read with, where each setting came from, and what was not known.

    >>> print(settings_in_words(CaseSettings(tz="Europe/Warsaw", origin={"tz": SETTINGS_FILE})))
    Read with the servers' time zone Europe/Warsaw (from exlab-case.toml).
    <BLANKLINE>
    Not set: the servers' culture (each export's dates go by their own order, and an ambiguous one is said below), extra trust anchors (Microsoft's root program only), the transport server's FQDN (unknown: not in the evidence either), the send connector to Exchange Online (unknown: not in the evidence either).
    """
    inferred = inferred or {}
    consequences = {
        "tz": "times written without an offset were read as UTC and are shown in UTC; "
              f"write the servers' zone as tz in {SETTINGS_FILE}",
        "culture": "each export's dates go by their own order, and an ambiguous one is said below",
        "roots": "Microsoft's root program only",
    }
    known = [f"{MEANINGS.get(name, 'the servers in other zones')} {md(_setting_text(name, value))} "
             f"(from {'the notebook parameters' if settings.origin.get(name) == 'given' else SETTINGS_FILE})"
             for name, value in settings.arguments().items() if value is not None]
    unknown = [f"{MEANINGS[name]} ({md(inferred[name]) if name in inferred else consequences.get(name, 'unknown: not in the evidence either')})"
               for name in MEANINGS if getattr(settings, name) is None]
    parts = []
    if known:
        parts.append("Read with " + ", ".join(known) + ".")
    if unknown:
        parts.append("Not set: " + ", ".join(unknown) + ".")
    return "\n\n".join(parts)


def start(folder: str | Path | None = None, *, progress: bool = True, **given: Any) -> Any:
    """Open the case in ``folder`` (else :data:`CASE_VARIABLE`) for a notebook: settings from
    ``exlab-case.toml`` unless ``given`` (server_fqdn, connector, roots, tz, culture), the
    verdict computed once, what it was read with and every warning said in words.

    >>> from exlab.lab import generate_case
    >>> import tempfile
    >>> out = tempfile.mkdtemp()
    >>> _ = generate_case("contoso-kb2888788", out, events=20, only=("cer",))
    >>> start(Path(out) / "contoso-kb2888788", progress=False).tz
    'Europe/Warsaw'
    """
    from exlab.case import evidence_files, open_case

    _prepare_kernel()
    folder = case_folder(folder)
    _WARNINGS.name_files_from(folder)
    case = open_case(folder, progress=progress, **given)     # the settings file read once, by open_case
    case.diagnose()   # the verdict once: its warnings join the reading's
    _display_markdown(f"Case **{_name(folder)}**: {len(evidence_files(case.reports))} evidence file(s) read.\n\n"
                      + settings_in_words(case.settings, case.inferred))
    return case


def start_fleet(folder: str | Path | None = None, store: str | Path | None = None, *, workers: int | None = None,
                progress: bool = True, **given: Any) -> Any:
    """Ingest the evidence in ``folder`` (else :data:`CASE_VARIABLE`; one folder or zip of one
    or several servers) into the evidence store ``store`` (None: a new one in a temporary
    folder; an existing store gets only what it lacks), on ``workers`` local processes (None:
    this one), and open the store as the case: settings from the folder's ``exlab-case.toml``
    unless ``given``, the verdict computed once, what was ingested and read with said in words.

    >>> from exlab.lab import generate_case
    >>> import tempfile
    >>> out = tempfile.mkdtemp()
    >>> _ = generate_case("contoso-kb2888788", out, events=20, only=("cer",))
    >>> case = start_fleet(Path(out) / "contoso-kb2888788", progress=False)
    >>> case.tz, case.folder.name
    ('Europe/Warsaw', 'store')
    """
    import tempfile

    from exlab.case import open_case
    from exlab.fleet import ingest
    from exlab.report.people import count

    _prepare_kernel()
    folder = case_folder(folder)
    settings = case_settings(folder, **given)
    store = Path(store) if store is not None else Path(tempfile.mkdtemp(prefix="exlab-fleet-")) / "store"
    _WARNINGS.name_files_from(folder, store)
    ingested = ingest([folder], store, workers=workers, tz=settings.tz, culture=settings.culture,
                      server_tz=settings.server_tz, progress=progress)
    arguments = settings.arguments()
    arguments.pop("culture", None)       # the store's rows were read with it already
    case = open_case(store, **arguments)
    case.diagnose()
    rows = ", ".join(f"{kind} {n:,}" for kind, n in sorted(ingested.rows.items()))
    _display_markdown(f"Case **{_name(folder)}** ingested into an evidence store: "
                      f"{count(ingested.added, 'batch', 'batches')} added (rows: {md(rows) or 'none'}), "
                      f"{count(ingested.skipped, 'batch', 'batches')} already there.\n\n"
                      + settings_in_words(settings, case.inferred))
    return case


def md(value: Any) -> str:
    """Evidence text made inert inside Markdown: ``&``, ``<`` and ``>`` escaped for HTML, Markdown
    punctuation backslash-escaped; quotes stay quotes (an HTML entity such as ``&#x27;`` would
    have its ``#`` escaped too and show as text).

    >>> print(md("<script>x</script> 'Outbound' *x* [a](b) #1"))
    &lt;script&gt;x&lt;/script&gt; 'Outbound' \\*x\\* \\[a\\](b) \\#1

    A line feed would end the sentence the text sits in (and a ``===`` or ``- `` after it make a
    heading or a list item), so it is shown as ``\\n``, as the terminal shows it, and so is
    every other character a reader would not see (a bidi override, an escape):

    >>> print(md("notes\\n===\\u202etxt.exe"))
    notes\\\\n===\\\\u202etxt.exe
    """
    text = html.escape(visible(value), quote=False)
    return "".join("\\" + ch if ch in "\\`*_[]#|~" else ch for ch in text)


def say(markdown: str) -> None:
    """Display a sentence (Markdown) computed from the data; evidence text in it must be
    escaped with :func:`md`."""
    _display_markdown(markdown)


def show(table: Any, *, collapsed: bool = False, rows: int | None = None) -> None:
    """Display a report table (``exlab.report.Table``) for people: its note, then the table
    (escaped, no index); ``collapsed`` folds it under its title (``<details>``), ``rows`` shows
    only the first rows and says how many more there are.

    >>> import pandas as pd
    >>> from exlab.report import Table
    >>> show(Table("Servers", pd.DataFrame({"server": ["EX01"]})))   # outside IPython: nothing shown
    """
    print_html(table_html(table, collapsed=collapsed, rows=rows))


def table_html(table: Any, *, collapsed: bool = False, rows: int | None = None) -> str:
    """The HTML :func:`show` displays.

    >>> import pandas as pd
    >>> from exlab.report import Table
    >>> print(table_html(Table("Servers", pd.DataFrame({"server": ["EX<1>", "EX2"]}), "Every server."), rows=1).split('<div class="exlab">')[1])
    <p>Every server. Showing the first 1 of 2 rows.</p><table class="people"><caption>Servers</caption><thead><tr><th>server</th></tr></thead><tbody><tr><td>EX&lt;1&gt;</td></tr></tbody></table></div>
    >>> '<div class="exlab"><details><summary>Servers (1 row)</summary>' in table_html(Table("Servers", pd.DataFrame({"server": ["EX2"]})), collapsed=True)
    True

    A people table is laid out as in the report (JupyterLab would centre it and right-align its
    cells), by a style that comes with it:

    >>> table_html(Table("Servers", pd.DataFrame({"server": ["EX2"]})))[:37]
    '<style>.exlab table.people{width:100%'
    """
    from exlab.report.people import PEOPLE_LAYOUT, count, html_table

    frame = table.table if rows is None else table.table.head(rows)
    note = table.note + (f" Showing the first {len(frame)} of {len(table.table)} rows." if len(frame) < len(table.table) else "")
    body = (f"<p>{html.escape(note.strip())}</p>" if note.strip() else "") + html_table(
        frame, caption=None if collapsed else table.title, wide=table.wide, paths=table.paths)
    if collapsed:
        body = f"<details><summary>{html.escape(table.title)} ({count(len(table.table), 'row')})</summary>{body}</details>"
    return f'<style>{PEOPLE_LAYOUT}</style><div class="exlab">{body}</div>'


def show_figure(figure: Any) -> None:
    """Display a report figure (``exlab.report.Figure``) with its alternative text."""
    from exlab.plots import image_alt

    try:
        from IPython.display import display
    except ImportError:
        return
    display(figure.figure, metadata=image_alt(figure.alt))


def print_html(text: str) -> None:
    """Display HTML built by exlab (evidence text in it already escaped)."""
    _display(text, "HTML")


def _name(folder: Path) -> str:
    return md(folder.resolve().name)


def _display_markdown(text: str) -> None:
    _display(text, "Markdown")


def _display(text: str, kind: str) -> None:
    """Display ``text`` as IPython's ``kind`` (HTML, Markdown) in a kernel; nothing elsewhere."""
    try:
        from IPython import display as shown
        from IPython import get_ipython
    except ImportError:
        return
    if get_ipython() is not None:
        shown.display(getattr(shown, kind)(text))
