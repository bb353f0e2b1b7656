"""What a case holds and lacks: per kind of evidence found, missing or found but unusable (and
why), and the files it did not use (and why).

The diagnosis's "still to collect" list comes from here (:func:`lacking`), so a file that
is not evidence never stands in for evidence that is missing: a JSON file a reader
accepts but that holds no certificate leaves the certificate export missing.

>>> import pandas as pd
>>> frame = inventory_frame([kind_row("certs", "certificates", files=["mailbox.json"], rows=0, servers=[],
...                                   sources=set(), refused=[])])
>>> frame[["kind", "status", "why"]].values.tolist()
[['certs', 'unusable', 'its file holds no rows: mailbox.json']]
>>> sorted(lacking(frame))
['certs']
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import pandas as pd

from exlab.attribution import SERVER_COLUMN, SERVER_EVIDENCE, source_files, split_servers

if TYPE_CHECKING:
    from exlab.case import Case

COLUMNS = ("kind", "evidence", "status", "files", "rows", "servers", "why", "file")
STATUSES = ("found", "missing", "unusable", "unused")   # the values of the status column
# kinds a diagnosis can do without: listed only when the folder holds some
OPTIONAL_KINDS = frozenset({"receive_connectors", "queues"})


def kind_row(kind: str, label: str, *, files: list[str], rows: int, servers: list[str], sources: set[str],
             refused: list[str], wanted: Iterable[str] = (), unplaced: Iterable[str] = ()) -> dict[str, Any]:
    """One kind's line of the inventory: found, missing or unusable, and why.

    ``files`` are the files its reader read, ``servers`` the servers its rows came from,
    ``sources`` the source transport servers of the send connector (empty when unknown, or
    when its export cut the list: a server a cut list does not name may send through it),
    ``refused`` its readers' refusals, ``wanted`` the servers whose evidence of this kind the case
    needs (:func:`wanted_servers`): a kind found for some of them says which it lacks, and which of its files
    (``unplaced``) name no server and may be theirs.

    >>> kind_row("sessions", "SMTP send protocol logs", files=["a.LOG"], rows=40, servers=["EX03"], sources={"EX01"},
    ...          refused=[])["why"]
    'only from EX03, not a source transport server of the send connector (EX01)'
    >>> kind_row("events", "event logs", files=[], rows=0, servers=[], sources=set(), refused=[])["status"]
    'missing'
    >>> kind_row("events", "event logs", files=["EX01/Application.evtx"], rows=9, servers=["EX01"],
    ...          sources={"EX01", "EX02"}, refused=[], wanted=["EX01", "EX02"])["why"]
    'none from EX02: collect it there too'
    >>> kind_row("certs", "certificates", files=["EX01/fl.txt", "fl.txt"], rows=9, servers=["EX01"],
    ...          sources={"EX01", "EX02"}, refused=[], wanted=["EX01", "EX02"], unplaced=["fl.txt"])["why"]
    ... # doctest: +NORMALIZE_WHITESPACE
    'none from EX02: collect it there too, or, if fl.txt (which names no server) is from EX02, put it in a folder
     named after it'
    """
    status, why = "found", None
    if not files and not refused:
        status, why = "missing", "no file of this kind in the folder"
    elif not files:
        status, why = "unusable", f"refused by its reader: {'; '.join(refused)}"
    elif rows == 0:
        holds = "its file holds" if len(files) == 1 else "its files hold"
        status, why = "unusable", f"{holds} no rows: {', '.join(files)}"
    elif kind in SERVER_EVIDENCE and sources and servers and not sources.intersection(servers):
        status = "unusable"
        why = (f"only from {', '.join(servers)}, not a source transport server of the send connector "
               f"({', '.join(sorted(sources))})")
    else:
        lacked = [server for server in wanted if server not in servers] if kind in SERVER_EVIDENCE else []
        said = [f"none from {', '.join(lacked)}: collect it there too"] if lacked else []
        unplaced = list(unplaced)
        if said and unplaced:
            said[0] += (f", or, if {', '.join(unplaced)} (which name{'s' * (len(unplaced) == 1)} no server) "
                        f"{'is' if len(unplaced) == 1 else 'are'} from {' or '.join(lacked)}, put "
                        f"{'it' if len(unplaced) == 1 else 'each'} in a folder named after it")
        said += [f"{len(refused)} more file(s) refused by its reader: {'; '.join(refused)}"] if refused else []
        why = "; ".join(said) or None
    return {"kind": kind, "evidence": label, "status": status, "files": len(files), "rows": rows,
            "servers": "; ".join(servers) or None, "why": why, "file": None}


def inventory_frame(rows: Iterable[dict[str, Any]]) -> pd.DataFrame:
    """The inventory's rows as a frame with its columns and types.

    >>> inventory_frame([]).columns.tolist()
    ['kind', 'evidence', 'status', 'files', 'rows', 'servers', 'why', 'file']
    """
    frame = pd.DataFrame(list(rows), columns=list(COLUMNS))
    for column in COLUMNS:
        frame[column] = frame[column].astype("Int64" if column in ("files", "rows") else "string")
    frame["status"] = pd.Categorical(frame["status"], categories=STATUSES)
    return frame


def lacking(inventory: pd.DataFrame) -> set[str]:
    """The kinds of evidence the case still needs: missing or unusable.

    >>> sorted(lacking(inventory_frame([{"kind": "events", "status": "found"}, {"kind": "certs", "status": "missing"},
    ...                                 {"kind": None, "status": "unused", "file": "notes.txt"}])))
    ['certs']
    """
    kinds = inventory[inventory["status"].isin(["missing", "unusable"]).fillna(False).astype(bool)]["kind"]
    return set(kinds.dropna())


def case_inventory(case: Case) -> pd.DataFrame:
    """The inventory of an opened case (``Case.inventory()``): one row per kind exlab reads
    (optional kinds only when present), then one per file it did not use (status ``unused``,
    with the reason)."""
    from exlab.case import evidence_kinds

    sources = case._sources() if case._cut_sources() is None else set()     # a cut list rules no server out
    wanted = wanted_servers(case, sources)
    known = set(case.server_list())
    unread = case.unread
    rows = []
    for kind in evidence_kinds():
        frame = case.frames.get(kind.name)
        report = None if frame is None else frame.attrs.get("parse_report")
        refused = [] if "kind" not in unread else [
            f"{row.file} ({row.reason})" for row in unread[unread["kind"] == kind.name].itertuples()]
        servers: set[str] = set()
        if frame is not None and SERVER_COLUMN in frame and kind.name in SERVER_EVIDENCE:
            for cell in frame[SERVER_COLUMN].dropna().unique():
                servers.update(split_servers(cell))
        files = [] if report is None else [f.file for f in report.files]
        row = kind_row(kind.name, kind.label, files=files, rows=0 if frame is None else len(frame),
                       servers=sorted(servers & known), sources=sources, refused=refused, wanted=wanted,
                       unplaced=_unplaced(frame, files) if kind.name in SERVER_EVIDENCE else ())
        others = len(servers - known)
        if others:      # computers that are not servers of the case (a domain controller's events): counted
            row["servers"] = "; ".join(filter(None, [row["servers"], f"{others:,} other computer(s)"]))
        if row["status"] != "missing" or kind.name not in OPTIONAL_KINDS:
            rows.append(row)
    rows += [{"kind": None, "evidence": None, "status": "unused", "files": 1, "rows": 0, "servers": None,
              "why": row.reason, "file": row.file} for row in unread.itertuples()]
    return inventory_frame(rows)


def _unplaced(frame: pd.DataFrame | None, files: list[str]) -> list[str]:
    """The files of a kind (its parse report's) that some row no server was given for lists (a certificate a
    flat export alone lists: its other certificates may have been given the servers of other exports).

    >>> frame = pd.DataFrame({"source": ["EX01/a.txt; b.txt", "b.txt", "EX01/a.txt"], "server": ["EX01", None, "EX01"]})
    >>> _unplaced(frame, ["EX01/a.txt", "b.txt"])
    ['b.txt']
    """
    if frame is None or SERVER_COLUMN not in frame or "source" not in frame:
        return []
    listed = source_files(files)
    alone = frame.loc[frame[SERVER_COLUMN].isna(), "source"].dropna().unique()
    return sorted({file for source in alone for file in listed(source)})


def wanted_servers(case: Case, sources: set[str]) -> list[str]:
    """The servers whose evidence (events, certificates, logs) the case needs: the source transport
    servers of the send connector, when known, else the case's servers (``Case.server_list``: not the
    other computers an event export names), when there are several (one server's case needs no name)."""
    if sources:
        return sorted(sources)
    servers = case.server_list()
    return servers if len(servers) > 1 else []
