"""Merging rows that describe one certificate (same thumbprint) into one row.

The raw certificate (DER) is the authority for the X.509 facts; Exchange's exports supply
services, status, root CA type, friendly name and whether a private key is present.
Where two sources disagree the chosen value is kept and the disagreement is written to
the row's ``conflicts`` (and returned as a note for the parse report), never hidden.
``server`` and ``source`` keep every value seen, ``; ``-joined (one certificate may sit in
the stores of several servers).

A row may carry three private keys: ``_key``, the SHA-1 of the DER an export carried
(when it differs from the thumbprint the export printed, that is a conflict),
``_truncated``, the columns an export showed cut short (``...``), and ``_undetermined``,
the X.509 columns a DER row could only guess (a self-signed test whose signature algorithm
cannot be verified): there the exports' values come first.

>>> import pandas as pd
>>> rows = [{"thumbprint": "AB" * 20, "services": ("IIS", "SMTP"), "source": "a.txt"},
...         {"thumbprint": "AB" * 20, "services": ("IIS",), "source": "b.csv"}]
>>> merged, notes = merge_rows(rows)
>>> merged[0]["services"], merged[0]["source"]
(('IIS', 'SMTP'), 'a.txt; b.csv')
>>> merged[0]["conflicts"]
("services: 'IIS, SMTP' (a.txt) vs 'IIS' (b.csv)",)
>>> notes
[('b.csv', "ABABABABABABABABABABABABABABABABABABABAB: services: 'IIS, SMTP' (a.txt) vs 'IIS' (b.csv)")]

Services, Status and the private key belong to one server's store: exports of two servers
(the server their export names, else the folder their file sits in) that disagree on them
are two bindings of the certificate, one row each, not a conflict:

>>> rows = [{"thumbprint": "AB" * 20, "services": ("IIS", "SMTP"), "source": "EX01/fl.txt"},
...         {"thumbprint": "AB" * 20, "services": ("IIS",), "source": "EX02/fl.txt"}]
>>> [(row["services"], row["source"], row["conflicts"]) for row in merge_rows(rows)[0]]
[(('IIS', 'SMTP'), 'EX01/fl.txt', ()), (('IIS',), 'EX02/fl.txt', ())]
"""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd

X509_COLUMNS = ("subject", "issuer", "dns_names", "not_before", "not_after", "serial_number",
                "is_self_signed", "public_key_size", "signature_hash", "server_auth")
EXCHANGE_COLUMNS = ("services", "status", "root_ca_type", "friendly_name", "has_private_key")
# what one server binds: two servers' exports that disagree on these describe two bindings
BINDING_COLUMNS = ("services", "status", "has_private_key")


def merge_rows(rows: Iterable[dict]) -> tuple[list[dict], list[tuple[str, str]]]:
    """Rows grouped by thumbprint and merged, in order of first appearance, plus the
    ``(source, message)`` notes of every conflict found."""
    groups: dict[str, list[dict]] = {}
    for row in rows:
        groups.setdefault(row.get("_key") or row["thumbprint"], []).append(row)
    merged, notes = [], []
    for key, group in groups.items():
        for binding in _bindings(group):
            row, conflicts = _merge_group(key, binding)
            notes.extend((source, f"{key}: {text}") for source, text in conflicts)
            merged.append(row)
    return merged, notes


def _bindings(group: list[dict]) -> list[list[dict]]:
    """The rows of one certificate as one group per server store it is bound in: a group per
    origin (:func:`_origin`) when the origins that list services disagree on what is bound
    (:data:`BINDING_COLUMNS`), each with the rows that carry no binding (a .cer, a .pfx);
    else the group whole."""
    by_origin: dict[str, list[dict]] = {}
    for row in group:
        if _present(row.get("services")):
            by_origin.setdefault(_origin(row), []).append(row)
    bound = [{column: _first(rows, column) for column in BINDING_COLUMNS} for rows in by_origin.values()]
    if len(by_origin) < 2 or all(_agree(bound[0], other) for other in bound[1:]):
        return [group]
    listed = {id(row) for rows in by_origin.values() for row in rows}
    folders = {origin: {_folder(row) for row in rows} for origin, rows in by_origin.items()}
    bindings = {origin: list(rows) for origin, rows in by_origin.items()}
    for row in (row for row in group if id(row) not in listed):
        # a file beside one server's export is that server's; one elsewhere names no store: every binding's
        homes = [origin for origin in by_origin if _folder(row) in folders[origin]] or list(by_origin)
        for origin in homes:
            bindings[origin].append(row)
    return list(bindings.values())


def _origin(row: dict) -> str:
    """Whose store a row describes: the server its export names, else the folder of its file."""
    server = row.get("server")
    return f"server:{str(server).lower()}" if _present(server) else _folder(row)


def _folder(row: dict) -> str:
    """The folder (or zip) a row's file sits in: its source up to the last separator."""
    source = str(row.get("source") or "")
    last = max(source.rfind(separator) for separator in "/\\!")
    return source[:last] if last >= 0 else ""


def _present(value) -> bool:
    return value is not None and not _is_na(value)


def _first(rows: list[dict], column: str):
    return next((row[column] for row in rows if _present(row.get(column))), None)


def _agree(one: dict, other: dict) -> bool:
    return all(one[c] is None or other[c] is None or _same(one[c], other[c], False) for c in BINDING_COLUMNS)


def _merge_group(key: str, group: list[dict]) -> tuple[dict, list[tuple[str, str]]]:
    out: dict = {"thumbprint": key}
    conflicts: list[tuple[str, str]] = []
    for row in group:
        if row.get("thumbprint") and row["thumbprint"] != key:
            conflicts.append((row["source"], f"thumbprint: {row['source']} says {row['thumbprint']} "
                                              f"but its certificate data hashes to {key}"))
    with_der = [row for row in group if row.get("der") is not None]
    for column in X509_COLUMNS:
        out[column] = _merge_column(column, _authority_first(column, group), conflicts)
    for column in EXCHANGE_COLUMNS:
        out[column] = _merge_column(column, group, conflicts)
    out["der"] = with_der[0]["der"] if with_der else None
    out["source"] = "; ".join(dict.fromkeys(row["source"] for row in group))
    out["server"] = "; ".join(dict.fromkeys(row["server"] for row in group if row.get("server"))) or None
    earlier = [text for row in group for text in row.get("conflicts") or ()]
    out["conflicts"] = tuple(dict.fromkeys(earlier + [text for _, text in conflicts]))
    return out, conflicts


def _authority_first(column: str, group: list[dict]) -> list[dict]:
    """The rows in the order they decide ``column``: DER facts, exports, then DER guesses."""
    def rank(row: dict) -> int:
        if row.get("der") is None:
            return 1
        return 2 if column in row.get("_undetermined", ()) else 0
    return sorted(group, key=rank)


def _merge_column(column: str, rows: list[dict], conflicts: list[tuple[str, str]]):
    seen = [(row[column], row["source"], column in row.get("_truncated", ())) for row in rows
            if row.get(column) is not None and not _is_na(row[column])]
    if not seen:
        return None
    complete = [item for item in seen if not item[2]]
    chosen, chosen_source, _ = (complete or seen)[0]
    reported: set[str] = set()
    for value, source, truncated in seen:
        if _same(chosen, value, truncated) or source in reported:
            continue
        reported.add(source)
        conflicts.append((source, f"{column}: {_show(chosen)} ({chosen_source}) vs {_show(value)} ({source})"
                                  + _hint(chosen, value)))
    return chosen


def _is_na(value) -> bool:
    return not isinstance(value, (tuple, list, bytes)) and bool(pd.isna(value))


def _same(chosen, value, truncated: bool) -> bool:
    if isinstance(chosen, pd.Timestamp) and isinstance(value, pd.Timestamp):
        return chosen.floor("s") == value.floor("s")
    if truncated and isinstance(value, tuple) and isinstance(chosen, tuple):
        return set(value) <= set(chosen)
    if truncated and isinstance(value, str) and isinstance(chosen, str):
        shown = value.removesuffix("...").removesuffix("\u2026")
        return chosen.startswith(shown)
    return chosen == value


def _show(value) -> str:
    if isinstance(value, tuple):
        return repr(", ".join(str(v) for v in value))
    if isinstance(value, pd.Timestamp):
        return str(value)
    return repr(value)


def _hint(chosen, value) -> str:
    if isinstance(chosen, pd.Timestamp) and isinstance(value, pd.Timestamp):
        hours = (value - chosen).total_seconds() / 3600
        if hours and hours == int(hours):
            return f"; {abs(int(hours))} h apart: was the server's time zone given (tz=)?"
    return ""
