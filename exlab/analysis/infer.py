"""What the evidence implies when the engineer did not say: the server's FQDN, the send connector.

Each function returns the value and where it came from, so the caller can tell the
engineer what was assumed.

>>> import pandas as pd
>>> infer_server_fqdn(servers=pd.DataFrame({"name": ["EX01"], "fqdn": ["ex01.contoso.com"]}))
('ex01.contoso.com', 'Get-ExchangeServer')
>>> infer_server_fqdn()
(None, None)
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from exlab.analysis.cells import present

CLOUD_SMART_HOST = ".mail.protection.outlook.com"


def _clean(row: dict[str, Any]) -> dict[str, Any]:
    """A row dict with NA cells as None and plain Python values (tuples and lists kept)."""
    return {k: present(v) for k, v in row.items()}


def _most_common(values: pd.Series) -> str | None:
    values = values.dropna()
    return None if values.empty else str(values.value_counts().index[0])


def infer_server_fqdn(*, servers: pd.DataFrame | None = None, events: pd.DataFrame | None = None,
                      certs: pd.DataFrame | None = None,
                      connectors: pd.DataFrame | None = None) -> tuple[str | None, str | None]:
    """The transport server's FQDN and where the evidence gives it: Get-ExchangeServer when it
    names one server, else the computer name most MSExchangeTransport events carry.

    A name without a dot (``EX01``, as Get-WinEvent's MachineName or Get-ExchangeServer's Name
    may give it) is a NetBIOS name, not an FQDN: its FQDN is looked for where the evidence
    writes one (Get-ExchangeServer's Fqdn, the events' computer names, the certificates' names,
    the send connectors' Fqdn and SourceTransportServers), else it is said as such, with None.

    >>> events = pd.DataFrame({"provider": ["MSExchangeTransport", "Service Control Manager"],
    ...                        "computer": ["ex01.contoso.com", "dc01.contoso.com"]})
    >>> infer_server_fqdn(events=events)
    ('ex01.contoso.com', 'computer name of the MSExchangeTransport events')
    >>> netbios = events.assign(computer="EX01")
    >>> fqdn, why = infer_server_fqdn(events=netbios, certs=pd.DataFrame({"dns_names": [("ex01", "ex01.contoso.com")]}))
    >>> fqdn, why.split(", ")[0]
    ('ex01.contoso.com', 'the certificates')
    >>> fqdn, why = infer_server_fqdn(events=netbios)
    >>> fqdn, why.split("; ")[1]
    (None, 'the FQDN was not in the evidence: pass --fqdn (server_fqdn=)')
    """
    names: list[tuple[str, str]] = []   # (name, where it came from), best first
    if servers is not None and not servers.empty:
        fqdns = servers["fqdn"].dropna().unique() if "fqdn" in servers else []
        if len(fqdns) == 1:
            names.append((str(fqdns[0]), "Get-ExchangeServer"))
        elif len(fqdns) == 0 and "name" in servers and servers["name"].dropna().nunique() == 1:
            names.append((str(servers["name"].dropna().iloc[0]), "Get-ExchangeServer name"))
    if events is not None and not events.empty:
        transport = events[(events["provider"].astype("string").str.lower() == "msexchangetransport")
                           .fillna(False).astype(bool)]
        found = _most_common(transport["computer"]) if not transport.empty else None
        if found:
            names.append((found, "computer name of the MSExchangeTransport events"))
    for name, why in names:
        if "." in name:
            return name, why
    if not names:
        return None, None
    netbios, why = names[0]
    found = _fqdns_named(netbios, servers=servers, events=events, certs=certs, connectors=connectors)
    if found:
        return found[0][0], f"{found[0][1]}, for the NetBIOS name {netbios} from the {why}"
    return None, f"NetBIOS name {netbios} ({why}); the FQDN was not in the evidence: pass --fqdn (server_fqdn=)"


def _fqdns_named(netbios: str, **frames: pd.DataFrame | None) -> list[tuple[str, str]]:
    """The FQDNs the evidence writes whose first label is ``netbios``, with where; only when
    each source names just one (two different ones leave it open).

    >>> _fqdns_named("EX01", connectors=pd.DataFrame({"source_transport_servers": [("EX01.contoso.com",)]}))
    [('EX01.contoso.com', 'the send connectors')]
    """
    places = (("servers", "fqdn", "Get-ExchangeServer"), ("events", "computer", "the events' computer names"),
              ("certs", "dns_names", "the certificates"), ("connectors", "fqdn", "the send connectors"),
              ("connectors", "source_transport_servers", "the send connectors"))
    found: list[tuple[str, str]] = []
    for frame_name, column, where in places:
        frame = frames.get(frame_name)
        if frame is None or frame.empty or column not in frame:
            continue
        values = [v for cell in frame[column].dropna()
                  for v in (cell if isinstance(cell, (tuple, list)) else (cell,))]
        matching = {str(v) for v in values
                    if "." in str(v) and str(v).split(".")[0].casefold() == netbios.casefold()}
        if len({m.casefold() for m in matching}) == 1:
            found.append((sorted(matching)[0], where))
    return found


def _to_cloud(row: dict[str, Any]) -> bool:
    hosts = row.get("smart_hosts") or ()
    return bool(any(str(h).lower().endswith(CLOUD_SMART_HOST) for h in hosts)
                or row.get("cloud_services_mail_enabled") is True)


def infer_connector(*, connectors: pd.DataFrame | None = None, failing: pd.Series | None = None,
                    sessions: pd.DataFrame | None = None) -> tuple[dict[str, Any] | None, str | None]:
    """The send connector to Exchange Online, as a row dict (at least ``name``), and why.

    The one Get-SendConnector shows with a ``*.mail.protection.outlook.com`` smart host
    (or CloudServicesMailEnabled); else the connector the failures name (event 2004's %1);
    else the protocol log's connector-id.

    >>> connectors = pd.DataFrame({"name": ["Internet", "Outbound to Office 365"],
    ...     "smart_hosts": [(), ("contoso-com.mail.protection.outlook.com",)]})
    >>> infer_connector(connectors=connectors)[0]["name"]
    'Outbound to Office 365'
    """
    rows = [] if connectors is None or connectors.empty else [_clean(r.to_dict()) for _, r in connectors.iterrows()]
    cloud = [r for r in rows if _to_cloud(r)]
    if len(cloud) == 1:
        return cloud[0], "Get-SendConnector (smart host in Exchange Online)"
    for values, why in ((failing, "the connector the failures name"),
                        (None if sessions is None or sessions.empty else sessions["connector"],
                         "protocol log connector-id")):
        name = _most_common(values) if values is not None else None
        if name:
            named = [r for r in rows if str(r.get("name", "")).lower() == name.lower()]
            return (named[0] if named else {"name": name}), why
    if len(rows) == 1:
        return rows[0], "the only send connector exported"
    return None, None


def connector_row(connectors: pd.DataFrame | None, name: str) -> dict[str, Any]:
    """The row of the connector called ``name`` (case-insensitive), or just ``{"name": name}``.

    >>> connector_row(None, "Outbound to Office 365")
    {'name': 'Outbound to Office 365'}
    """
    if connectors is not None and not connectors.empty:
        for _, row in connectors.iterrows():
            if str(row.get("name", "")).lower() == name.lower():
                return _clean(row.to_dict())
    return {"name": name}


def proxies_through_frontend(connectors: pd.DataFrame | None, name: str | None) -> bool:
    """Whether the send connector called ``name`` has FrontendProxyEnabled: the Front End Transport service
    connects to Exchange Online and presents the certificate (the Transport service hands it each message).

    >>> connectors = pd.DataFrame({"name": ["Outbound"], "frontend_proxy_enabled": pd.array([True], "boolean")})
    >>> proxies_through_frontend(connectors, "outbound"), proxies_through_frontend(connectors, None)
    (True, False)
    """
    return bool(name) and connector_row(connectors, name).get("frontend_proxy_enabled") is True


def infer_judgement_time(points: pd.DataFrame, *, events: pd.DataFrame | None = None,
                         sessions: pd.DataFrame | None = None,
                         tracking: pd.DataFrame | None = None) -> tuple[pd.Timestamp | None, str | None]:
    """When to judge certificates (validity, the transport's choice): the last failure, else
    the last moment the logs or events cover; None when no evidence carries a time.

    >>> t = pd.to_datetime(["2025-03-20 09:00", "2025-03-21 10:00"], utc=True)
    >>> infer_judgement_time(pd.DataFrame({"time": t[:1]}), sessions=pd.DataFrame({"start": t}))
    (Timestamp('2025-03-20 09:00:00+0000', tz='UTC'), 'the last failure')
    >>> infer_judgement_time(pd.DataFrame({"time": t[:0]}), sessions=pd.DataFrame({"start": t}))[1]
    'the last record of the evidence'
    """
    if not points.empty:
        return points["time"].max(), "the last failure"
    times = [frame[column].max() for frame, column in ((events, "time_created"), (sessions, "start"),
                                                       (tracking, "time"))
             if frame is not None and not frame.empty and column in frame and frame[column].notna().any()]
    if times:
        return max(times), "the last record of the evidence"
    return None, None
