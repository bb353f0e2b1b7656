"""Which send connector each queue of Get-Queue is.

A queue names its connector by GUID alone (NextHopConnector), which matches Get-SendConnector's Guid. An
export of chosen properties (``Get-SendConnector | fl Name,SmartHosts,AddressSpaces,Fqdn``) has no Guid:
then a queue is known by its next hop, as transport routed it. A smart-host queue
(SmartHostConnectorDelivery) has the connector's smart host as its NextHopDomain; a DNS queue
(DnsConnectorDelivery) has the recipients' domain, which the connector of the most specific SMTP address
space routes (``contoso.com`` before ``*.contoso.com`` before ``*``).

>>> queues = pd.DataFrame({"delivery_type": ["SmartHostConnectorDelivery", "DnsConnectorDelivery"],
...                        "next_hop_domain": ["contoso-com.mail.protection.outlook.com", "fabrikam.com"],
...                        "next_hop_connector": ["16c9b773-1428-4cb9-9e12-815afbadeec4", None]})
>>> connectors = pd.DataFrame({"name": ["Outbound to Office 365"],
...     "smart_hosts": [("contoso-com.mail.protection.outlook.com",)],
...     "address_spaces": [("smtp:contoso.mail.onmicrosoft.com;1",)]})
>>> queue_connectors(queues, connectors).tolist()
['Outbound to Office 365', 'fabrikam.com']
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pandas as pd

#: the NextHopConnector of a queue no send connector routes (Submission, a mailbox delivery)
NO_CONNECTOR = "00000000-0000-0000-0000-000000000000"
SMART_HOST_DELIVERY = "SmartHostConnectorDelivery"
DNS_DELIVERY = "DnsConnectorDelivery"
#: what :func:`routed_by` gives for a next hop that none of the connectors routes
ANOTHER = object()
# a host or domain name fit for a PowerShell -like pattern in a command (letters, digits, hyphens, dots, a "*."
# first), its last label a name: no IP address
_PLAIN = re.compile(r"^(?:\*\.)?[a-z0-9-]+(?:\.[a-z0-9-]+)*\.[a-z][a-z0-9-]*$")


def queue_connectors(queues: pd.DataFrame, connectors: pd.DataFrame | None) -> pd.Series:
    """Each queue's send connector: the name of the connector whose Guid is the queue's NextHopConnector;
    else, where the export lacks a connector's Guid, the one its next hop names (:func:`routed_by`). A queue
    that is none of the exported connectors' (every one's Guid known, or every one's SmartHosts or
    AddressSpaces known and none routing its next hop) is another's: its GUID stands for its connector (its
    NextHopDomain where it shows no GUID). NA where that cannot be told, or the queue names no connector
    (the zero GUID).

    >>> queues = pd.DataFrame({"next_hop_connector": ["16C9B773-1428-4CB9-9E12-815AFBADEEC4",
    ...     "137c0a63-cbc7-4261-b49b-b4850e63593b", NO_CONNECTOR, None]})
    >>> connectors = pd.DataFrame({"name": ["Outbound to Office 365"],
    ...                            "guid": ["16c9b773-1428-4cb9-9e12-815afbadeec4"]})
    >>> queue_connectors(queues, connectors).tolist()
    ['Outbound to Office 365', '137c0a63-cbc7-4261-b49b-b4850e63593b', <NA>, <NA>]
    >>> bool(queue_connectors(queues, connectors.assign(guid=None)).isna().all())
    True
    """
    unknown = pd.Series(pd.NA, index=queues.index, dtype="string")
    if connectors is None or connectors.empty or "name" not in connectors:
        return unknown
    rows = [{**row, "smart_hosts": _listed(row.get("smart_hosts")),
             "address_spaces": _listed(row.get("address_spaces"))}
            for row in connectors.to_dict("records") if _known(row.get("name"))]
    if not rows:
        return unknown
    named = {str(row["guid"]).strip().lower(): row["name"] for row in rows if _known(row.get("guid"))}
    every_guid = len(named) == len(rows)
    names = []
    for queue in queues.to_dict("records"):
        guid = str(queue.get("next_hop_connector")).strip() if _known(queue.get("next_hop_connector")) else None
        if guid == NO_CONNECTOR:
            names.append(pd.NA)
        elif guid is not None and guid.lower() in named:
            names.append(named[guid.lower()])
        elif guid is not None and every_guid:
            names.append(guid)
        else:
            route = routed_by(queue.get("delivery_type"), queue.get("next_hop_domain"), rows)
            names.append(route if route is not ANOTHER else guid or str(queue["next_hop_domain"]).strip())
    return pd.Series(names, index=queues.index, dtype="string")


def routed_by(delivery_type: Any, next_hop: Any, connectors: list[dict[str, Any]]) -> str | object | None:
    """The name of the connector (of ``connectors``: rows with ``name``, and ``smart_hosts`` and ``address_spaces``
    as tuples, None where not exported) that routes a queue of this delivery type to ``next_hop`` (its
    NextHopDomain); :data:`ANOTHER` when every connector shows the property that tells and none routes it; None
    when it cannot be told (the property not exported, two connectors alike, a queue of another delivery type).
    A DNS queue's connector is told only when every connector shows its AddressSpaces: the most specific one
    routes it, which an address space not shown could be.

    >>> rows = [{"name": "Hybrid", "smart_hosts": ("contoso-com.mail.protection.outlook.com",),
    ...          "address_spaces": ("smtp:contoso.mail.onmicrosoft.com;1",)},
    ...         {"name": "Internet", "smart_hosts": (), "address_spaces": ("SMTP:*;1", "smtp:*.contoso.com;5")}]
    >>> routed_by(SMART_HOST_DELIVERY, "Contoso-com.mail.protection.outlook.com", rows)
    'Hybrid'
    >>> routed_by(DNS_DELIVERY, "fabrikam.com", rows), routed_by(SMART_HOST_DELIVERY, "[10.0.0.5]", rows) is ANOTHER
    ('Internet', True)
    >>> routed_by(None, "fabrikam.com", rows) is None
    True
    """
    if not _known(next_hop):
        return None
    hop = str(next_hop).strip().lower()
    kind = str(delivery_type).strip() if _known(delivery_type) else None
    if kind in (SMART_HOST_DELIVERY, None):
        hops = {_host(part) for part in hop.replace(";", ",").split(",") if part.strip()}
        shown = [row for row in connectors if row.get("smart_hosts") is not None]
        matching = {row["name"] for row in shown if hops & {_host(h) for h in row["smart_hosts"]}}
        if len(matching) == 1:
            return matching.pop()
        if kind is None or matching:
            return None
        return ANOTHER if len(shown) == len(connectors) else None
    if kind != DNS_DELIVERY:
        return None
    if any(row.get("address_spaces") is None for row in connectors):
        return None
    fits = []
    for row in connectors:
        best = max((_fit(space, hop) for space in row["address_spaces"]), default=-1)
        if best >= 0 and not row.get("smart_hosts"):       # a connector with smart hosts makes no DNS queue
            fits.append((best, row["name"]))
    if not fits:
        return ANOTHER
    top = max(fit for fit, _ in fits)
    winners = {name for fit, name in fits if fit == top}
    return winners.pop() if len(winners) == 1 else None


def next_hop_patterns(connector: dict[str, Any]) -> tuple[str, ...] | None:
    """PowerShell ``-like`` patterns for the NextHopDomain of the queues a send connector (a connectors-frame row)
    makes: its smart hosts, else the domains of its SMTP address spaces (``*.contoso.com`` routes contoso.com too);
    None when they cannot be told from the export or are no plain names (a smart host by IP address, an address
    space of every domain or of another type, a property not exported).

    >>> next_hop_patterns({"smart_hosts": ("Contoso-com.mail.protection.outlook.com.",),
    ...                    "address_spaces": ("smtp:contoso.mail.onmicrosoft.com;1",)})
    ('contoso-com.mail.protection.outlook.com',)
    >>> next_hop_patterns({"smart_hosts": (), "address_spaces": ("SMTP:*.contoso.mail.onmicrosoft.us;1",)})
    ('*.contoso.mail.onmicrosoft.us', 'contoso.mail.onmicrosoft.us')
    >>> next_hop_patterns({"smart_hosts": ("[10.0.0.5]",)}), next_hop_patterns({"smart_hosts": (),
    ...                                                                          "address_spaces": ("smtp:*;1",)})
    (None, None)

    Without SmartHosts in the export the queues may be named by a smart host, whatever the address spaces:

    >>> next_hop_patterns({"address_spaces": ("smtp:contoso.mail.onmicrosoft.com;1",)}) is None
    True
    """
    hosts = _listed(connector.get("smart_hosts"))
    if hosts is None:
        return None
    if hosts:
        patterns = [_host(host) for host in hosts]
    else:
        spaces = _listed(connector.get("address_spaces")) or ()
        names = [_smtp_domain(space) for space in spaces]
        patterns = [pattern for name in names if name is not None
                    for pattern in ((name, name[2:]) if name.startswith("*.") else (name,))]
        if not spaces or None in names:
            return None
    return tuple(dict.fromkeys(patterns)) if patterns and all(map(_PLAIN.match, patterns)) else None


def _smtp_domain(space: Any) -> str | None:
    """The domain of an SMTP address space (``smtp:*.contoso.com;1``; no type: SMTP), lower case; None for
    another type.

    >>> _smtp_domain("SMTP:*.Contoso.com;1"), _smtp_domain("contoso.com"), _smtp_domain("X400:c=US;a= ;p=C;1")
    ('*.contoso.com', 'contoso.com', None)
    """
    text = str(space).strip()
    kind, colon, value = text.partition(":")
    if colon and kind.strip().lower() != "smtp":
        return None
    return (value if colon else text).rsplit(";", 1)[0].strip().lower()


def _fit(space: Any, domain: str) -> int:
    """How specifically an address space (``smtp:*.contoso.com;1``; no type: SMTP) routes ``domain``: its
    length, one more for an exact name than for a wildcard; -1 when it does not route it (or is not SMTP).

    >>> _fit("smtp:*;1", "fabrikam.com"), _fit("SMTP:*.fabrikam.com;1", "mx.fabrikam.com")
    (0, 12)
    >>> _fit("fabrikam.com", "fabrikam.com")
    13
    >>> _fit("X400:c=US;a= ;p=Contoso;1", "fabrikam.com"), _fit("smtp:contoso.com;1", "fabrikam.com")
    (-1, -1)
    """
    name = _smtp_domain(space)
    if name is None:
        return -1
    if name == "*":
        return 0
    if name.startswith("*."):
        base = name[2:]
        return len(base) if domain == base or domain.endswith("." + base) else -1
    return len(name) + 1 if domain == name else -1


def _host(value: Any) -> str:
    """A smart host as compared (any cell, as text): no brackets (``[10.0.0.5]``), no case, no trailing dot.

    >>> _host(" [10.0.0.5] "), _host("Mail.Contoso.com."), _host(None)
    ('10.0.0.5', 'mail.contoso.com', 'none')
    """
    return str(value).strip().strip("[]").rstrip(".").lower()


def _listed(value: Any) -> tuple | None:
    """A list cell as a tuple (a frame's tuple, a store's array), None where the property was not exported."""
    return tuple(value) if isinstance(value, (tuple, list, np.ndarray)) else None


def _known(value: Any) -> bool:
    """Whether a cell holds a value: not None, NA or blank."""
    return value is not None and not (pd.api.types.is_scalar(value) and pd.isna(value)) and bool(str(value).strip())
