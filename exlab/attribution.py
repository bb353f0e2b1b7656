"""Which server each row of a case came from: the ``server`` column of every frame.

The server is a key (DESIGN.md): every frame of a case carries the server a row came
from, its FQDN where the evidence gives one, else its NetBIOS name, NA when nothing
tells. The names come from the evidence itself:

* events: the ``computer`` of each record;
* certificates: a ``server`` column the reader filled (PSComputerName, Identity), with the
  server folder of each export of the certificate that names no server;
* message tracking: the log's own host (``server_hostname`` of the rows it logged
  locally; SEND, DEFER and FAIL rows name the remote host), else the folder;
* protocol logs: the server folder (``EX01/…`` or ``…\\EX01\\…``);
* send connectors: their ``source_transport_servers``; Get-ExchangeServer: each row's own.

A file's server folder is the innermost folder or zip whose name holds a known server's name
(``EX01``, ``exlab-EX01``, ``EX01.zip``), else the file's own name (``EX01-certs.txt``).

Get-ExchangeServer, and FQDNs seen in events or tracking, map NetBIOS names to FQDNs.
When the case holds one server, a file that names none is that server's. The work is
done once per file (per distinct value for events), never per row.

>>> import pandas as pd
>>> names = ServerNames.build(servers=pd.DataFrame({"name": ["EX01"], "fqdn": ["ex01.contoso.com"]}))
>>> names.key("ex01"), names.key("EX02"), names.key("Mail.Contoso.com")
('ex01.contoso.com', 'EX02', 'mail.contoso.com')
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass, field
from pathlib import PurePosixPath, PureWindowsPath

import pandas as pd

SERVER_COLUMN = "server"
# tracking events whose server_hostname is the remote host, not the server that logged them
REMOTE_HOST_EVENTS = frozenset({"SEND", "DEFER", "FAIL"})
# frames whose rows are evidence from one server (connectors and servers describe the organisation)
SERVER_EVIDENCE = ("events", "certs", "sessions", "tracking", "queues")


def _text(value: object) -> str | None:
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    text = str(value).strip()
    return text or None


@dataclass
class ServerNames:
    """The servers a case names, as one spelling each: ``key(name)`` gives the FQDN where the
    evidence gives one (lower case), else the NetBIOS name (upper case)."""

    fqdn_of: dict[str, str] = field(default_factory=dict)   # NetBIOS name (lower) -> FQDN, else itself

    @classmethod
    def build(cls, *, servers: pd.DataFrame | None = None, fqdns: Iterable[object] = ()) -> ServerNames:
        """From Get-ExchangeServer's rows (name, fqdn), then from FQDNs seen in the evidence.

        >>> ServerNames.build(fqdns=["ex01.contoso.com", "EX02"]).fqdn_of
        {'ex01': 'ex01.contoso.com'}
        """
        names = cls()
        if servers is not None and not servers.empty and {"name", "fqdn"} <= set(servers.columns):
            for name, fqdn in zip(servers["name"], servers["fqdn"]):
                name, fqdn = _text(name), _text(fqdn)
                if fqdn and "." in fqdn:
                    names.fqdn_of.setdefault((name or fqdn.split(".")[0]).lower(), fqdn.lower())
        for value in fqdns:
            text = _text(value)
            if text and "." in text:
                names.fqdn_of.setdefault(text.split(".")[0].lower(), text.lower())
        return names

    def key(self, name: object) -> str | None:
        """The case's spelling of a server name (NetBIOS or FQDN, any case); None for none.

        >>> ServerNames({"ex01": "ex01.contoso.com"}).key(" EX01 "), ServerNames().key(None)
        ('ex01.contoso.com', None)
        """
        text = _text(name)
        if text is None:
            return None
        if "." in text:
            return text.lower()
        return self.fqdn_of.get(text.lower(), text.upper())

    def known(self, name: str) -> bool:
        """Whether ``name`` (NetBIOS or FQDN) is one of the servers these names know.

        >>> names = ServerNames({"ex01": "ex01.contoso.com"})
        >>> names.known("EX01"), names.known("ex01.contoso.com"), names.known("Logs")
        (True, True, False)
        """
        text = name.lower()
        return text in self.fqdn_of or text in self.fqdn_of.values()

    def in_path(self, file: str) -> str | None:
        """The server a file's path names, or None: the innermost folder (or zip) that names a known
        server (:meth:`named_in`: ``EX01/logs/x.log``, ``C:\\\\cases\\\\exlab-EX01\\\\x``, ``EX01.zip!x``),
        else the file's own name (``EX01-certs.txt``).

        >>> names = ServerNames({"ex01": "ex01.contoso.com", "ex02": "ex02.contoso.com"})
        >>> names.in_path("EX01/Logs/MessageTracking/MSGTRK1.LOG"), names.in_path("site.zip!EX01/Logs/SEND1.LOG")
        ('ex01.contoso.com', 'ex01.contoso.com')
        >>> names.in_path("exlab-EX02.zip!certs.txt"), names.in_path("EX02/EX01-certs.txt"), names.in_path("fl.txt")
        ('ex02.contoso.com', 'ex02.contoso.com', None)
        """
        file = file.replace("!", "/")      # a member of a zip: bundle.zip!EX01/logs/x.log
        path = PureWindowsPath(file) if "\\" in file else PurePosixPath(file)
        for part in reversed(path.parts[:-1]):
            named = self.named_in(part)
            if named:
                return named
        return self.named_in(path.stem) if path.parts else None

    def named_in(self, name: str) -> str | None:
        """The known server a folder's or file's name names, or None: the server itself (NetBIOS or FQDN),
        or the one server whose NetBIOS name stands in it as a word (``exlab-EX01``, ``EX01.zip``,
        ``EX01_2025-03-21``; the longest when one holds another, as ``MBX-EX01`` holds ``EX01``).

        >>> names = ServerNames({"ex01": "ex01.contoso.com", "mbx-ex01": "mbx-ex01.contoso.com", "ex02": "EX02"})
        >>> names.named_in("ex01.contoso.com"), names.named_in("exlab-EX01"), names.named_in("MBX-EX01_logs")
        ('ex01.contoso.com', 'ex01.contoso.com', 'mbx-ex01.contoso.com')
        >>> names.named_in("EX01-and-EX02") is None, names.named_in("EX010") is None, names.named_in("Logs") is None
        (True, True, True)
        """
        if self.known(name):
            return self.key(name)
        text = name.lower()
        found = [server for server in self.fqdn_of if server in text and _stands_in(server, text)]
        longest = max(found, key=len, default=None)
        # one server names it when every other found is part of the longest (MBX-EX01 holds EX01)
        return self.key(longest) if longest and all(server in longest for server in found) else None


def _stands_in(word: str, text: str) -> bool:
    """Whether ``word`` stands in ``text`` as a word: no ASCII letter or digit on either side. The
    search looks for ``word`` itself first, then at its sides, so that it takes time in proportion to
    ``text`` whatever both hold (a hostile folder name, a server name of regex characters).

    >>> _stands_in("ex(01", "logs-ex(01.zip"), _stands_in("ex01", "ex010"), _stands_in("a-a", "xa-a-a")
    (True, False, True)
    """
    sides = rf"(?![a-z0-9])(?<![a-z0-9].{{{len(word)}}})"
    return re.search(re.escape(word) + sides, text, re.DOTALL) is not None


def host_name(name: object) -> str:
    """A server's name as two spellings of it compare: its host name in lower case (``EX01`` and
    ``ex01.contoso.com`` are one), an IP address whole.

    >>> host_name(" EX01 "), host_name("ex01.contoso.com"), host_name("10.0.0.5")
    ('ex01', 'ex01', '10.0.0.5')
    """
    text = str(name).strip().lower()
    return text if text.replace(".", "").isdigit() else text.split(".")[0]


def edge_hosts(servers: pd.DataFrame | None, *, sessions: pd.DataFrame | None = None,
               connectors: pd.DataFrame | None = None,
               receive_connectors: pd.DataFrame | None = None) -> frozenset[str]:
    """The host names (:func:`host_name`) of the Edge Transport servers: those Get-ExchangeServer shows to be
    Edge servers (the servers frame's ``edge``, by Name and Fqdn: what an Edge's other spellings compare by),
    and, among those it does not list, those the evidence shows to be (:func:`edges_in_evidence`).

    >>> servers = pd.DataFrame({"name": ["EX01", "EDGE01"], "fqdn": ["ex01.contoso.com", "edge01.dmz.contoso.net"],
    ...                         "edge": [False, True]})
    >>> sorted(edge_hosts(servers)), edge_hosts(servers.drop(columns="edge"))
    (['edge01'], frozenset())
    """
    listed: dict[str, bool] = {}
    if servers is not None and "edge" in servers:
        edge = servers["edge"].astype("boolean").fillna(False).astype(bool)
        for column in ("name", "fqdn"):
            for name, is_edge in zip(servers[column], edge) if column in servers else ():
                if _text(name):
                    listed[host_name(name)] = listed.get(host_name(name), False) or bool(is_edge)
    found = edges_in_evidence(sessions, connectors, receive_connectors)
    return frozenset([host for host, is_edge in listed.items() if is_edge] + [h for h in found if h not in listed])


def front_end_only_hosts(servers: pd.DataFrame | None) -> frozenset[str]:
    """The host names (:func:`host_name`) of the servers Get-ExchangeServer shows to run no Transport service (the
    servers frame's ``transport_service`` False, by Name and Fqdn): Exchange 2013's Client Access servers, whose
    Front End Transport service alone connects to Exchange Online.

    >>> servers = pd.DataFrame({"name": ["MBX01", "CAS01"], "fqdn": ["mbx01.contoso.com", "cas01.contoso.com"],
    ...                         "transport_service": pd.array([True, False], "boolean")})
    >>> sorted(front_end_only_hosts(servers)), front_end_only_hosts(servers.drop(columns="transport_service"))
    (['cas01'], frozenset())
    """
    return _by_transport_service(servers, False)


def transport_service_hosts(servers: pd.DataFrame | None) -> frozenset[str]:
    """The host names of the servers Get-ExchangeServer shows to run the Transport service (``transport_service``
    True): with :func:`front_end_only_hosts`, the servers whose services are known.

    >>> servers = pd.DataFrame({"name": ["MBX01", "CAS01", "EX01"], "transport_service": pd.array([True, False, None],
    ...                                                                                           "boolean")})
    >>> sorted(transport_service_hosts(servers))
    ['mbx01']
    """
    return _by_transport_service(servers, True)


def _by_transport_service(servers: pd.DataFrame | None, runs: bool) -> frozenset[str]:
    if servers is None or "transport_service" not in servers:
        return frozenset()
    chosen = servers["transport_service"].astype("boolean").eq(runs).fillna(False).astype(bool)
    return frozenset(host_name(name) for column in ("name", "fqdn") if column in servers
                     for name in servers.loc[chosen, column] if _text(name))


# where an Edge Transport server keeps its protocol logs (Exchange 2013 and later): ...\TransportRoles\Logs\Edge\
_EDGE_LOGS = re.compile(r"(?:^|[/\\!])logs[/\\]edge[/\\]", re.IGNORECASE)
# the connectors only an Edge uses: EdgeSync's, to the organisation (send), and the Edge's default (receive)
_EDGE_CONNECTORS = re.compile(r"^edgesync - inbound to |default internal receive connector", re.IGNORECASE)


def edges_in_evidence(sessions: pd.DataFrame | None, connectors: pd.DataFrame | None,
                      receive_connectors: pd.DataFrame | None = None) -> frozenset[str]:
    """The host names of the servers the evidence shows to be Edge Transport servers without Get-ExchangeServer:
    the servers of protocol logs kept under ``Logs\\Edge\\`` (an Edge's own folder) or of sessions through a
    connector only an Edge uses (``EdgeSync - Inbound to <site>``, ``Default internal receive connector``),
    the servers of such a receive connector (Get-ReceiveConnector on the Edge), and the source servers of the
    connectors EdgeSync made (``EdgeSync - ...``: their Edge Subscriptions).

    >>> sessions = pd.DataFrame({"source": ["EDGE01/TransportRoles/Logs/Edge/ProtocolLog/SmtpSend/SEND1.LOG",
    ...                                     "EX01/TransportRoles/Logs/Hub/ProtocolLog/SmtpSend/SEND1.LOG"],
    ...                          "connector": ["Outbound to Office 365"] * 2, "server": ["edge01.dmz.net", "EX01"]})
    >>> connectors = pd.DataFrame({"name": ["EdgeSync - Default-First-Site-Name to Internet"],
    ...                            "source_transport_servers": [("EDGE02",)]})
    >>> sorted(edges_in_evidence(sessions, connectors))
    ['edge01', 'edge02']
    """
    found: set[str] = set()
    if sessions is not None and SERVER_COLUMN in sessions and len(sessions):
        for column, pattern in (("source", _EDGE_LOGS), ("connector", _EDGE_CONNECTORS)):
            # each distinct file or connector tested once; the rows of those that match looked at only then
            hits = [text for text in sessions[column].dropna().unique() if pattern.search(str(text))] \
                if column in sessions else []
            if hits:
                cells = sessions.loc[sessions[column].isin(hits).fillna(False).astype(bool), SERVER_COLUMN]
                found.update(host_name(server) for cell in cells.dropna().unique() for server in split_servers(cell))
    if receive_connectors is not None and {"name", "server"} <= set(receive_connectors):
        found.update(host_name(server) for name, server in zip(receive_connectors["name"], receive_connectors["server"])
                     if _EDGE_CONNECTORS.search(str(name)) and _text(server))
    if connectors is not None and {"name", "source_transport_servers"} <= set(connectors):
        for name, listed in zip(connectors["name"], connectors["source_transport_servers"]):
            if str(name).lower().startswith("edgesync - ") and isinstance(listed, tuple):
                found.update(host_name(server) for server in listed if _text(server))
    return frozenset(found)


def join_servers(names: Iterable[str | None]) -> str | None:
    """Several servers as one cell, ``; ``-joined in order of first mention (like ``source``).

    >>> join_servers(["ex01.contoso.com", None, "EX02", "ex01.contoso.com"])
    'ex01.contoso.com; EX02'
    """
    unique = list(dict.fromkeys(n for n in names if n))
    return "; ".join(unique) if unique else None


def split_servers(cell: object) -> list[str]:
    """The servers of one ``server`` cell.

    >>> split_servers("ex01.contoso.com; EX02"), split_servers(pd.NA)
    (['ex01.contoso.com', 'EX02'], [])
    """
    text = _text(cell)
    return [] if text is None else [part for part in text.split("; ") if part]


def source_files(files: Iterable[str]) -> Callable[[object], list[str]]:
    """How to read a ``source`` cell into the files it lists, given the names of the files it may list (a
    parse report's): a row of several files lists their names ``; ``-joined, and a name may hold ``; ``
    itself (Windows allows it). Each is the longest known name the rest of the cell starts with before a
    ``; `` (or its end), else the text up to the next ``; ``.

    >>> listed = source_files(["EX01/certs; old.txt", "EX01/certs", "EX01/mail.cer"])
    >>> listed("EX01/certs; old.txt; EX01/mail.cer"), listed("EX01/certs; EX01/mail.cer"), listed("a.txt; b.txt")
    (['EX01/certs; old.txt', 'EX01/mail.cer'], ['EX01/certs', 'EX01/mail.cer'], ['a.txt', 'b.txt'])
    """
    known = frozenset(files)
    longest = max(map(len, known), default=0)

    def listed(cell: object) -> list[str]:
        text = str(cell)
        if text in known or "; " not in text:
            return [text]
        ends = [match.start() for match in re.finditer("; ", text)] + [len(text)]
        names, start, first = [], 0, 0      # first: the first end at or after start
        while first < len(ends):
            reach = bisect_right(ends, start + longest, lo=first)       # no known name ends further
            end = next((ends[i] for i in range(reach - 1, first, -1) if text[start:ends[i]] in known), ends[first])
            names.append(text[start:end])
            start = end + 2
            first = bisect_left(ends, start, lo=first)
        return names

    return listed


def case_names(frames: dict[str, pd.DataFrame], server_fqdn: str | None = None) -> ServerNames:
    """The names every frame of a case gives its servers (Get-ExchangeServer first).

    >>> events = pd.DataFrame({"computer": ["EX01.contoso.com"]})
    >>> case_names({"events": events}).key("ex01")
    'ex01.contoso.com'
    """
    seen: list[object] = [server_fqdn]
    if "events" in frames and "computer" in frames["events"]:
        seen += list(frames["events"]["computer"].dropna().unique())
    if "tracking" in frames and "server_hostname" in frames["tracking"]:
        tracking = frames["tracking"]
        local = ~tracking["event_id"].isin(REMOTE_HOST_EVENTS).fillna(False).astype(bool)
        seen += list(tracking["server_hostname"][local].dropna().unique())
    if "certs" in frames and SERVER_COLUMN in frames["certs"]:
        seen += [part for cell in frames["certs"][SERVER_COLUMN].dropna().unique() for part in split_servers(cell)]
    names = ServerNames.build(servers=frames.get("servers"), fqdns=seen)
    for cell in (frames["connectors"]["source_transport_servers"] if "connectors" in frames
                 and "source_transport_servers" in frames["connectors"] else ()):
        for name in cell if isinstance(cell, tuple) else ():
            names.fqdn_of.setdefault(str(name).lower(), names.key(name) or str(name))
    for value in seen:      # NetBIOS-only names (an events computer without domain) are servers too
        text = _text(value)
        if text and "." not in text:
            names.fqdn_of.setdefault(text.lower(), names.key(text) or text)
    return names


def _file_servers(frame: pd.DataFrame, names: ServerNames, content: pd.Series | None) -> dict[str, str | None]:
    """source file -> its server: what its content names (``content``, one value per row),
    else its folders."""
    out: dict[str, str | None] = {}
    files = frame["source"].astype("string").fillna("")
    named: dict[str, str] = {}
    if content is not None:     # each file's most common name: counted per (file, name), not per row
        counts = pd.DataFrame({"file": files, "name": content.astype("string")}).dropna().value_counts()
        for (file, name), _ in counts.items():      # value_counts sorts by count, most common first
            named.setdefault(file, name)
    for file in files.unique():
        out[file] = names.key(named.get(file)) or names.in_path(file)
    return out


def _by_file(frame: pd.DataFrame, servers: dict[str, str | None]) -> pd.Series:
    return frame["source"].astype("string").fillna("").map(servers).astype("string")


def attribute_servers(frames: dict[str, pd.DataFrame], *, server_fqdn: str | None = None) -> dict[str, pd.DataFrame]:
    """Every frame with a ``server`` column (see the module's docstring); the frames are copied.

    >>> events = pd.DataFrame({"computer": ["ex01.contoso.com"], "source": ["EX01/Application.evtx"]})
    >>> sessions = pd.DataFrame({"session_id": ["08DD"], "source": ["SEND20250320-1.LOG"]})
    >>> out = attribute_servers({"events": events, "sessions": sessions})
    >>> out["events"]["server"].tolist(), out["sessions"]["server"].tolist()
    (['ex01.contoso.com'], ['ex01.contoso.com'])
    """
    names = case_names(frames, server_fqdn)
    out: dict[str, pd.DataFrame] = {}
    for kind, frame in frames.items():
        frame = frame.copy(deep=False)     # a new column only: the rows are shared, not copied
        frame.attrs = frames[kind].attrs
        if kind == "events" and "computer" in frame:
            computers = frame["computer"].astype("string")
            spelled = {value: names.key(value) for value in computers.dropna().unique()}
            frame[SERVER_COLUMN] = computers.map(spelled).astype("string")
            if "source" in frame:
                frame[SERVER_COLUMN] = frame[SERVER_COLUMN].fillna(_by_file(frame, _file_servers(frame, names, None)))
        elif kind == "tracking" and "source" in frame:
            local = frame["server_hostname"].where(~frame["event_id"].isin(REMOTE_HOST_EVENTS).fillna(False)
                                                   .astype(bool)) if "server_hostname" in frame else None
            frame[SERVER_COLUMN] = _by_file(frame, _file_servers(frame, names, local))
            exported = _exported_rows(frame)
            if exported.any():
                frame[SERVER_COLUMN] = _tracking_hosts(frame, names).where(exported).fillna(frame[SERVER_COLUMN])
        elif kind == "queues" and "source" in frame:
            # each queue's Identity names its server (EX01\3): Get-TransportService | Get-Queue lists several
            own = frame[SERVER_COLUMN].astype("string") if SERVER_COLUMN in frame else \
                pd.Series(pd.NA, index=frame.index, dtype="string")
            spelled = {value: names.key(value) for value in own.dropna().unique()}
            frame[SERVER_COLUMN] = own.map(spelled).astype("string").fillna(
                _by_file(frame, _file_servers(frame, names, None)))
        elif kind == "certs" and "source" in frame:
            given = frame[SERVER_COLUMN] if SERVER_COLUMN in frame else pd.Series(pd.NA, index=frame.index)
            files = getattr(frame.attrs.get("parse_report"), "files", ())
            frame[SERVER_COLUMN] = pd.array(_cert_servers(given, frame, files, names), dtype="string")
        elif kind == "connectors" and "source_transport_servers" in frame:
            frame[SERVER_COLUMN] = pd.array(
                [join_servers(names.key(n) for n in (cell if isinstance(cell, tuple) else ()))
                 for cell in frame["source_transport_servers"]], dtype="string")
        elif kind == "servers":
            fqdn = frame["fqdn"] if "fqdn" in frame else pd.Series(pd.NA, index=frame.index)
            frame[SERVER_COLUMN] = pd.array([names.key(_text(f) or _text(n)) for f, n in zip(fqdn, frame["name"])],
                                            dtype="string")
        elif "source" in frame:
            frame[SERVER_COLUMN] = _by_file(frame, _file_servers(frame, names, None))
        else:
            frame[SERVER_COLUMN] = pd.array([pd.NA] * len(frame), dtype="string")
        out[kind] = frame
    return _one_server_owns_the_rest(out, names, server_fqdn)


def _exported_rows(tracking: pd.DataFrame) -> pd.Series:
    """Which tracking rows are of Get-MessageTrackingLog's output (a log file is one server's; an export may hold
    several servers' rows: ``Get-TransportService | Get-MessageTrackingLog``), by their files' parse reports."""
    from exlab.transport.tracking_export import FORMAT

    files = getattr(tracking.attrs.get("parse_report"), "files", ())
    exports = {f.file for f in files if f.format == FORMAT}
    return tracking["source"].isin(exports).fillna(False).astype(bool) if exports else \
        pd.Series(False, index=tracking.index)


def _tracking_hosts(tracking: pd.DataFrame, names: ServerNames) -> pd.Series:
    """The server that logged each tracking row: the client of a SEND, DEFER or FAIL (their server is the remote
    host), the server of the others; by its first label, as the case spells that server (an export writes
    ``EX01`` as ServerHostname and ``EX01.contoso.com`` as ClientHostname).

    >>> rows = pd.DataFrame({"event_id": ["RECEIVE", "DEFER"], "server_hostname": ["EX02", "mx.outlook.com"],
    ...                      "client_hostname": ["gw.fabrikam.com", "ex02.contoso.com"]})
    >>> _tracking_hosts(rows, ServerNames({"ex02": "ex02.contoso.com"})).tolist()
    ['ex02.contoso.com', 'ex02.contoso.com']
    """
    empty = pd.Series(pd.NA, index=tracking.index, dtype="string")
    remote = tracking["event_id"].isin(REMOTE_HOST_EVENTS).fillna(False).astype(bool)
    host = tracking.get("server_hostname", empty).astype("string").where(
        ~remote, tracking.get("client_hostname", empty).astype("string"))
    short = host.str.strip().str.split(".", n=1).str[0]
    spelled = {value: names.key(value) for value in short.dropna().unique()}
    return short.map(spelled).astype("string")


def _cert_servers(given: pd.Series, certs: pd.DataFrame, files: Iterable, names: ServerNames) -> list[str | None]:
    """Each certificate row's servers: those its exports name (``given``), with the server of each file it lists
    whose export names none (``fl`` from EX02 beside ``fl *`` from EX01: both stores hold it); the servers of all
    its files when no export names one. A file's server is the one its path names, else the one whose own
    certificate it lists (:func:`_own_certificate_stores`). ``files``: the parse report's (which name theirs).

    >>> from exlab.parse_report import FileReport
    >>> names = ServerNames(fqdn_of={"ex01": "EX01", "ex02": "EX02"})
    >>> files = [FileReport("EX01/fl.txt", "", "", names_server=True), FileReport("EX02/fl.txt", "", "")]
    >>> certs = pd.DataFrame({"source": ["EX01/fl.txt; EX02/fl.txt", "EX02/fl.txt"]})
    >>> _cert_servers(pd.Series(["EX01", None]), certs, files, names)
    ['EX01; EX02', 'EX02']
    """
    listed = source_files(file.file for file in files)
    naming = {file.file for file in files if file.names_server}
    stores = _own_certificate_stores(certs, listed, names, naming)
    out = []
    for own, source in zip(given, certs["source"]):
        named = [names.key(part) for part in split_servers(own)]
        out.append(join_servers(named + [names.in_path(part) or stores.get(part) for part in listed(source or "")
                                         if not named or part not in naming]))
    return out


# Exchange's own self-signed certificate of a server: issued to the server's name (CN=EX01), in its store alone
_OWN_SUBJECT = re.compile(r"^CN=(?P<name>[^,=+]+)$", re.IGNORECASE)


def _own_certificate_stores(certs: pd.DataFrame, listed: Callable[[object], list[str]], names: ServerNames,
                            naming: Collection[str]) -> dict[str, str]:
    """The files, among those whose rows and path name no server (a flat ``certs/`` beside ``EX02/``), that list
    the self-signed certificate Exchange issues a server in its name (``CN=EX01``) of one known server: that
    server's store.

    >>> names = ServerNames(fqdn_of={"ex01": "ex01.contoso.com", "ex02": "ex02.contoso.com"})
    >>> certs = pd.DataFrame({"source": ["certs/fl.txt", "certs/fl.txt; EX02/fl.txt"],
    ...                       "subject": ["CN=EX01", "CN=mail.contoso.com"], "is_self_signed": [True, False]})
    >>> _own_certificate_stores(certs, lambda cell: cell.split("; "), names, ())
    {'certs/fl.txt': 'ex01.contoso.com'}
    """
    if not {"subject", "is_self_signed"} <= set(certs):
        return {}
    found: dict[str, set[str]] = {}
    own = certs[certs["is_self_signed"].astype("boolean").fillna(False).astype(bool)]
    for subject, source in zip(own["subject"], own["source"]):
        match = _OWN_SUBJECT.match(str(subject).strip())
        server = names.fqdn_of.get(match["name"].strip().lower()) if match else None
        for file in listed(source or "") if server else ():
            if file not in naming and names.in_path(file) is None:
                found.setdefault(file, set()).add(server)
    return {file: next(iter(servers)) for file, servers in found.items() if len(servers) == 1}


def evidence_servers(frames: dict[str, pd.DataFrame]) -> list[str]:
    """The servers some evidence row (events, certificates, logs) is attributed to, sorted.

    >>> evidence_servers({"events": pd.DataFrame({"server": ["EX02", "ex01.contoso.com", None]})})
    ['EX02', 'ex01.contoso.com']
    """
    found: set[str] = set()
    for kind in SERVER_EVIDENCE:
        frame = frames.get(kind)
        if frame is not None and SERVER_COLUMN in frame:
            for cell in frame[SERVER_COLUMN].dropna().unique():
                found.update(split_servers(cell))
    return sorted(found)


#: The starts of the event providers that only Exchange servers log, in lower case: the classic sources
#: (MSExchangeTransport, MSExchange Common, ...) and the crimson channels' providers of every role, the Edge
#: Transport's too (Microsoft-Exchange-ManagedAvailability, Microsoft-Exchange-HighAvailability, ...).
EXCHANGE_PROVIDERS = ("msexchange", "microsoft-exchange-")


def is_exchange_provider(provider: object) -> bool:
    """Whether an event provider is one only Exchange servers log (:data:`EXCHANGE_PROVIDERS`, any case).

    >>> [is_exchange_provider(p) for p in ("MSExchangeTransport", "Microsoft-Exchange-ManagedAvailability",
    ...                                    "Microsoft-Windows-Kerberos", "Microsoft-ExchangeTools", None)]
    [True, True, False, False, False]
    """
    return isinstance(provider, str) and provider.lower().startswith(EXCHANGE_PROVIDERS)


def exchange_servers(frames: dict[str, pd.DataFrame]) -> list[str]:
    """The servers of :func:`evidence_servers` that the evidence shows to be Exchange servers, sorted: those of
    certificate exports, protocol and tracking logs rows, those Get-ExchangeServer names, and the event
    computers that logged an event of an Exchange provider (``MSExchange...``, ``Microsoft-Exchange-...``:
    :func:`is_exchange_provider`). Any other computer
    an event export names (a domain controller's, a collector's ForwardedEvents) is not one; but when the
    evidence shows no Exchange server and names one machine (its System log alone), that machine is the server.

    >>> events = pd.DataFrame({"provider": ["MSExchangeTransport", "Microsoft-Windows-Kerberos", "msexchange common",
    ...                                     "Service Control Manager"], "server": ["EX01", "DC01", "EX02", "EX03"]})
    >>> exchange_servers({"events": events, "servers": pd.DataFrame({"server": ["EX03"]})})
    ['EX01', 'EX02', 'EX03']
    >>> exchange_servers({"events": events[3:]}), exchange_servers({"events": events[1:4:2]})
    (['EX03'], [])
    >>> edge = pd.DataFrame({"provider": ["Microsoft-Exchange-ManagedAvailability"], "server": ["EDGE01"]})
    >>> exchange_servers({"events": pd.concat([events, edge])})
    ['EDGE01', 'EX01', 'EX02']
    """
    shown = {kind: frames[kind] for kind in SERVER_EVIDENCE if kind != "events" and kind in frames}
    events = frames.get("events")
    if events is not None and {"provider", SERVER_COLUMN} <= set(events.columns):
        providers = events["provider"].astype("string")
        exchange = [p for p in providers.dropna().unique() if is_exchange_provider(p)]
        shown["events"] = pd.DataFrame({SERVER_COLUMN: events[SERVER_COLUMN][providers.isin(exchange).to_numpy()]})
    servers = frames.get("servers")
    listed = set(servers[SERVER_COLUMN].dropna()) if servers is not None and SERVER_COLUMN in servers else set()
    exchange_ones = listed.union(evidence_servers(shown))
    machines = evidence_servers(frames)
    if not exchange_ones:
        return machines if len(machines) == 1 else []
    return [server for server in machines if server in exchange_ones]


def _one_server_owns_the_rest(frames: dict[str, pd.DataFrame], names: ServerNames,
                              server_fqdn: str | None) -> dict[str, pd.DataFrame]:
    """A case of one server (:func:`exchange_servers`): the rows no file attributed are that server's."""
    servers = exchange_servers(frames)
    if not servers:
        listed = {names.key(n) for n in frames["servers"][SERVER_COLUMN].dropna()} if "servers" in frames else set()
        servers = sorted(listed) if len(listed) == 1 else ([names.key(server_fqdn)] if server_fqdn else [])
    if len(servers) != 1:
        return frames
    for kind in SERVER_EVIDENCE:
        if kind in frames:
            frames[kind][SERVER_COLUMN] = frames[kind][SERVER_COLUMN].fillna(servers[0])
    return frames


def rows_of(frame: pd.DataFrame | None, servers: Iterable[str], *, unattributed: bool = False) -> pd.DataFrame | None:
    """The rows of ``frame`` from these servers (a ``; ``-joined cell counts for each of its
    servers), with the rows no server was found for when ``unattributed``; None when none is left.

    >>> certs = pd.DataFrame({"thumbprint": ["A", "B", "C"], "server": ["EX01; EX02", "EX02", None]})
    >>> rows_of(certs, ["EX01"])["thumbprint"].tolist()
    ['A']
    >>> rows_of(certs, ["EX03"], unattributed=True)["thumbprint"].tolist()
    ['C']
    """
    if frame is None or SERVER_COLUMN not in frame:
        return frame
    wanted = set(servers)
    cells = frame[SERVER_COLUMN]
    spelled = {cell: bool(wanted.intersection(split_servers(cell))) for cell in cells.dropna().unique()}
    keep = cells.map(spelled).astype("boolean").fillna(unattributed).astype(bool)
    if not keep.any():
        return None
    out = frame[keep.to_numpy()] if not keep.all() else frame
    out.attrs = frame.attrs
    return out
