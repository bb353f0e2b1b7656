"""Merging rows that describe one certificate (same thumbprint) into one row.

The raw certificate (DER) is the authority for the X.509 facts; Exchange's exports supply
services, status, root CA type, friendly name and whether a private key is present.
Where two sources disagree the chosen value is kept and the disagreement is written to
the row's ``conflicts`` (and returned as a note for the parse report), never hidden.
``server`` and ``source`` keep every value seen, ``; ``-joined (one certificate may sit in
the stores of several servers).

A row may carry four private keys: ``_key``, the SHA-1 of the DER an export carried
(when it differs from the thumbprint the export printed, that is a conflict),
``_truncated``, the columns an export showed cut short (``...``), ``_undetermined``,
the X.509 columns a DER row could only guess (a self-signed test whose signature algorithm
cannot be verified): there the exports' values come first; and ``_file``, the first file a
``source`` that lists several names (a row merged before, :func:`exlab.fleet.read.merge_certs`):
its folder tells its store, and its notes are that file's.

A date an export printed in the hour the clocks go back over that no file settled
(:mod:`exlab.certs.repeated_hour`) keeps its second reading in :data:`LATER_COLUMNS`, with
the row that gave the date chosen.

Exports of one server's store that disagree were taken at different times (a Format-List before a
change, an Export-Csv after it); the first is kept, and the note says so:

>>> rows = [{"thumbprint": "AB" * 20, "services": ("IIS", "SMTP"), "source": "EX01/fl.txt"},
...         {"thumbprint": "AB" * 20, "services": ("IIS",), "source": "EX01/certs.csv"}]
>>> merged, notes = merge_rows(rows)
>>> merged[0]["services"], merged[0]["source"]
(('IIS', 'SMTP'), 'EX01/fl.txt; EX01/certs.csv')
>>> print(notes[0][1])     # doctest: +NORMALIZE_WHITESPACE
ABABABABABABABABABABABABABABABABABABABAB: services: 'IIS, SMTP' (EX01/fl.txt) vs 'IIS' (EX01/certs.csv):
two exports of one server's store disagree (taken at different times?); the first is kept

What a store says (services, status, root CA type, friendly name, private key) is its server's: exports
of two servers (the server their export names, else the one the exports beside them or in the rest of
their collection name, else their collection: the folder their file sits in, with the folders it was
collected again in) that disagree on it are two bindings of the certificate, one row each, and no
conflict:

>>> rows = [{"thumbprint": "AB" * 20, "services": ("IIS", "SMTP"), "source": "EX01/fl.txt"},
...         {"thumbprint": "AB" * 20, "services": ("IIS",), "source": "EX02/fl.txt"}]
>>> [(row["services"], row["source"], row["conflicts"]) for row in merge_rows(rows)[0]]
[(('IIS', 'SMTP'), 'EX01/fl.txt', ()), (('IIS',), 'EX02/fl.txt', ())]

The same server's store collected again, in a folder inside the first collection or beside its
folders (``EX01/later/certs`` of ``EX01/certs``), is one store, whose disagreement is a conflict:

>>> rows[1]["source"] = "EX01/later/fl.txt"
>>> [(row["services"], row["source"], len(row["conflicts"])) for row in merge_rows(rows)[0]]
[(('IIS', 'SMTP'), 'EX01/fl.txt; EX01/later/fl.txt', 1)]
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

import pandas as pd

from exlab.attribution import host_name

X509_COLUMNS = ("subject", "issuer", "dns_names", "not_before", "not_after", "serial_number",
                "is_self_signed", "public_key_size", "signature_hash", "server_auth")
# what a server's store says of the certificate: two stores' exports that disagree on these are two rows
EXCHANGE_COLUMNS = ("services", "status", "root_ca_type", "friendly_name", "has_private_key")
# date column -> its second reading (UTC) when an export printed it in the hour the clocks go back over and no
# file settled which pass it is (exlab.certs.repeated_hour): the date is that or the column's; NA when sure
LATER_COLUMNS = {"not_before": "not_before_later", "not_after": "not_after_later"}


def certificate_key(row: dict) -> str:
    """The certificate a row describes: the SHA-1 of the DER it carried, else its thumbprint.

    >>> certificate_key({"thumbprint": "AB" * 20, "_key": "CD" * 20}) == "CD" * 20
    True
    """
    return row.get("_key") or row["thumbprint"]


def merge_rows(rows: Iterable[dict]) -> tuple[list[dict], list[tuple[str, str]]]:
    """Rows grouped by thumbprint and merged, in order of first appearance, plus the
    ``(file, message)`` notes of every conflict found (``file``: the first file the row that says
    otherwise lists, :func:`file_of`)."""
    groups: dict[str, list[dict]] = {}
    for row in rows:
        groups.setdefault(certificate_key(row), []).append(row)
    merged, notes = [], []
    for key, group in groups.items():
        for binding in _bindings(group):
            row, conflicts = _merge_group(key, binding)
            notes.extend((source, f"{key}: {text}") for source, text in conflicts)
            merged.append(row)
    return merged, notes


def _bindings(group: list[dict]) -> list[list[dict]]:
    """The rows of one certificate as one group per server store it sits in. When the exports (the
    rows that list services) disagree on what a store says (:data:`EXCHANGE_COLUMNS`) and come from
    two stores or more (:func:`_store_of`): a group per store, each with the rows that describe no
    store (a .cer, a .pfx) beside it. Else the group whole: its exports agree, or are one store's."""
    listing = [row for row in group if _present(row.get("services"))]
    if all(len({row[column] for row in listing if _present(row.get(column))}) < 2 for column in EXCHANGE_COLUMNS):
        return [group]
    store_of = _store_of(group)
    by_store: dict[str, list[dict]] = {}
    for row in listing:
        by_store.setdefault(store_of(row), []).append(row)
    if len(by_store) < 2:
        return [group]
    listed = {id(row) for row in listing}
    stores_in: dict[str, dict[str, None]] = {}      # folder -> the stores with an export in it
    for store, rows in by_store.items():
        for row in rows:
            stores_in.setdefault(_folder(row), {})[store] = None
    for row in (row for row in group if id(row) not in listed):
        # a file beside one server's export is that server's; one elsewhere names no store: every binding's
        for store in stores_in.get(_folder(row)) or list(by_store):
            by_store[store].append(row)
    return list(by_store.values())


def _store_of(rows: list[dict]) -> Callable[[dict], str]:
    """Whose store a row describes: the server its export names (PSComputerName, Identity; by its
    host name), else the one server the exports in its folder name, else the one the exports of its
    collection (:func:`_collections`) name, else its collection.

    >>> store_of = _store_of([{"server": "EX01.contoso.com", "source": "EX01/certs.csv"},
    ...                       {"source": "EX01/later/fl.txt"}])
    >>> store_of({"server": "ex01", "source": "a.xml"}), store_of({"source": "EX01/fl.txt"})
    ('server:ex01', 'server:ex01')
    >>> store_of({"source": "EX01/later/fl.txt"}), store_of({"source": "EX02/fl.txt"})
    ('server:ex01', 'EX02')
    """
    named: dict[str, set[str]] = {}
    for row in rows:
        if _present(row.get("server")):
            named.setdefault(_folder(row), set()).add(_server_key(row["server"]))
    collection = _collections({_folder(row) for row in rows})
    in_collection: dict[str, set[str]] = {}
    for folder, servers in named.items():
        in_collection.setdefault(collection[folder], set()).update(servers)

    def store(row: dict) -> str:
        if _present(row.get("server")):
            return _server_key(row["server"])
        folder = _folder(row)
        mine = collection.get(folder, folder)
        for beside in (named.get(folder), in_collection.get(mine)):
            if beside:
                return next(iter(beside)) if len(beside) == 1 else folder
        return mine

    return store


def _collections(folders: Iterable[str]) -> dict[str, str]:
    """Each folder's collection: the same server's store collected again sits in a folder inside the first
    collection's, or one that holds its folders in order with more between (:func:`_again`: ``collect1``
    and ``collect1/again``; ``EX01/certs`` and ``EX01/later/certs``). A folder's collection is the
    shallowest of those it is one with; a folder one with two that are not one with each other (the case
    folder beside ``EX01/`` and ``EX02/``) cannot tell whose it is, and is a collection of its own.

    >>> _collections(["EX01/certs", "EX01/later/certs", "EX02/certs"])["EX01/later/certs"]
    'EX01/certs'
    >>> _collections(["case", "case/EX01", "case/EX02"])
    {'case': 'case', 'case/EX01': 'case/EX01', 'case/EX02': 'case/EX02'}
    """
    parts = {folder: tuple(filter(None, re.split(r"[/\\!]", folder))) for folder in folders}
    kin = _kin(parts)
    clear = {folder for folder, ones in kin.items() if _chain([parts[one] for one in ones])}
    return {folder: min((one for one in kin[folder] if one in clear), key=lambda one: len(parts[one]))
            if folder in clear else folder for folder in parts}


def _kin(parts: dict[str, tuple[str, ...]]) -> dict[str, dict[str, None]]:
    """Each folder (name -> its parts) with the folders it is one with: itself, and those that hold its parts
    in order with more or whose parts it holds so (:func:`_again`). A folder that holds another's parts holds
    its rarest part: only the folders holding it are compared, so that thousands of servers' folders
    (``EX0001/certs`` ... ``EX5000/certs``) cost about as many comparisons, not their square.

    >>> kin = _kin({"": (), "EX01/certs": ("EX01", "certs"), "EX01/later/certs": ("EX01", "later", "certs"),
    ...             "EX02/certs": ("EX02", "certs")})
    >>> list(kin["EX01/certs"]), list(kin["EX02/certs"])
    (['EX01/certs', '', 'EX01/later/certs'], ['EX02/certs', ''])
    """
    holding: dict[str, list[str]] = {}
    for folder, names in parts.items():
        for name in dict.fromkeys(names):
            holding.setdefault(name, []).append(folder)
    kin: dict[str, dict[str, None]] = {folder: {folder: None} for folder in parts}
    for folder, names in parts.items():
        # the root (no parts) is held by every other folder
        rarest = min((holding[name] for name in names), key=len) if names else parts
        for other in rarest:
            if _again(names, parts[other]):
                kin[folder][other] = kin[other][folder] = None
    return kin


def _again(first: tuple[str, ...], later: tuple[str, ...]) -> bool:
    """Whether folder ``later`` (its parts) holds ``first``'s parts in order, and more.

    >>> _again(("EX01", "certs"), ("EX01", "later", "certs")), _again(("EX01",), ("EX02", "again"))
    (True, False)
    """
    rest = iter(later)
    return len(first) < len(later) and all(part in rest for part in first)


def _chain(folders: list[tuple[str, ...]]) -> bool:
    """Whether each of ``folders`` (their parts) is collected again (:func:`_again`) in the deeper ones."""
    ordered = sorted(folders, key=len)
    return all(_again(first, later) for first, later in zip(ordered, ordered[1:]))


def _server_key(server: object) -> str:
    return "server:" + host_name(server)


def file_of(row: dict) -> str:
    """The file a row came from: the first its ``source`` lists (``_file``, when it lists several).

    >>> file_of({"source": "EX01/fl; 2.txt; EX01/certs.csv", "_file": "EX01/fl; 2.txt"}), file_of({"source": "a.cer"})
    ('EX01/fl; 2.txt', 'a.cer')
    """
    return str(row.get("_file") or row.get("source") or "")


def _folder(row: dict) -> str:
    """The folder (or zip) a row's file sits in: its name up to the last separator."""
    source = file_of(row)
    last = max(source.rfind(separator) for separator in "/\\!")
    return source[:last] if last >= 0 else ""


def _present(value) -> bool:
    return value is not None and not _is_na(value)


def _merge_group(key: str, group: list[dict]) -> tuple[dict, list[tuple[str, str]]]:
    out: dict = {"thumbprint": key}
    conflicts: list[tuple[str, str]] = []
    for row in group:
        if row.get("thumbprint") and row["thumbprint"] != key:
            conflicts.append((file_of(row), f"thumbprint: {row['source']} says {row['thumbprint']} "
                                              f"but its certificate data hashes to {key}"))
    with_der = [row for row in group if row.get("der") is not None]
    for column in X509_COLUMNS:
        out[column] = _merge_column(column, _authority_first(column, group), conflicts)
    for column, later in LATER_COLUMNS.items():
        out[later] = _later_reading(group, column, later, out[column])
    for column in EXCHANGE_COLUMNS:
        out[column] = _merge_column(column, group, conflicts)
    out["der"] = with_der[0]["der"] if with_der else None
    out["source"] = "; ".join(dict.fromkeys(row["source"] for row in group))
    out["server"] = "; ".join(dict.fromkeys(row["server"] for row in group if row.get("server"))) or None
    earlier = [text for row in group for text in row.get("conflicts") or ()]
    out["conflicts"] = tuple(dict.fromkeys(earlier + [text for _, text in conflicts]))
    return out, conflicts


def _later_reading(group: list[dict], column: str, later: str, value):
    """The second reading of the date ``value`` chosen for ``column``, when the rows that give it left
    it unsettled; None when sure (a file that gives it exactly settled every row of it).

    >>> stamp, hour = pd.Timestamp("2026-10-25 00:30", tz="UTC"), pd.Timedelta(hours=1)
    >>> rows = [{"not_after": stamp, "not_after_later": stamp + hour}, {"not_after": stamp + 2 * hour, "der": b"0"}]
    >>> _later_reading(rows, "not_after", "not_after_later", stamp)
    Timestamp('2026-10-25 01:30:00+0000', tz='UTC')
    >>> _later_reading(rows, "not_after", "not_after_later", stamp + 2 * hour) is None
    True
    """
    return next((row[later] for row in group if _present(row.get(later)) and row.get(column) == value), None)


def _authority_first(column: str, group: list[dict]) -> list[dict]:
    """The rows in the order they decide ``column``: DER facts, exports, then DER guesses."""
    def rank(row: dict) -> int:
        if row.get("der") is None:
            return 1
        return 2 if column in row.get("_undetermined", ()) else 0
    return sorted(group, key=rank)


def _merge_column(column: str, rows: list[dict], conflicts: list[tuple[str, str]]):
    """The value of ``column`` the rows give (the first complete one), each disagreeing file's noted once."""
    seen = [row for row in rows if _present(row.get(column))]
    if not seen:
        return None
    chosen = next((row for row in seen if column not in row.get("_truncated", ())), seen[0])
    reported: set[str] = set()
    for row in seen:
        if _same(chosen[column], row[column], column in row.get("_truncated", ())) or row["source"] in reported:
            continue
        reported.add(row["source"])
        conflicts.append((file_of(row), f"{column}: {_show(chosen[column])} ({chosen['source']}) vs "
                                         f"{_show(row[column])} ({row['source']})" + _hint(column, chosen, row)))
    return chosen[column]


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


def _hint(column: str, chosen: dict, row: dict) -> str:
    """What a disagreement likely is: two exports of one store (:func:`_bindings` keeps two stores'
    apart) taken at different times, or times a whole number of hours apart (the time zone).

    >>> _hint("services", {"services": ("IIS",), "server": "EX02"}, {"services": ("IIS", "SMTP")})
    ": two exports of EX02's store disagree (taken at different times?); the first is kept"
    """
    if column in EXCHANGE_COLUMNS and _present(chosen.get("services")) and _present(row.get("services")):
        server = chosen.get("server") or row.get("server")
        whose = f"{server}'s" if _present(server) else "one server's"
        return f": two exports of {whose} store disagree (taken at different times?); the first is kept"
    if isinstance(chosen[column], pd.Timestamp) and isinstance(row[column], pd.Timestamp):
        hours = (row[column] - chosen[column]).total_seconds() / 3600
        if hours and hours == int(hours):
            return f"; {abs(int(hours))} h apart: was the server's time zone given (tz=)?"
    return ""
