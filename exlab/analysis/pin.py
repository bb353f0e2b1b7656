"""Where a pin on the send connector holds: every source transport server of the connector
presents the certificate its ``TlsCertificateName`` names, so each must hold one with that
issuer and subject. A server whose certificates show none would fail with 454 4.7.5 and
event 12014 once the pin is set (the look-alike this kit tells apart from KB 2888788).

>>> import pandas as pd
>>> certs = pd.DataFrame({"issuer": ["CN=CA"], "subject": ["CN=mail"], "server": ["EX01"],
...                       "not_before": [pd.Timestamp("2025-01-01", tz="UTC")],
...                       "not_after": [pd.Timestamp("2026-01-01", tz="UTC")]})
>>> print(pin_reach(("CN=CA", "CN=mail"), certs, ["EX01", "EX02"], connector="Outbound",
...                 at=pd.Timestamp("2025-06-01", tz="UTC")))
the pin on connector 'Outbound' holds for each of its source transport servers (EX01, EX02): each must hold a \
certificate issued by CN=CA to CN=mail, or it fails with 454 4.7.5 once the pin is set; no certificate export of EX02 \
tells whether it does
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from exlab.attribution import rows_of
from exlab.certs.names import name_key
from exlab.certs.selection import unusable
from exlab.certs.trust import judgement_time, present


def pin_reach(pin: tuple[str, str], certs: pd.DataFrame | None, sources: Sequence[str], *,
              connector: str | None, at: pd.Timestamp | None, proxied: bool = False) -> str | None:
    """A note naming the source servers whose certificates show no usable certificate with the
    pin's issuer and subject, or whose certificates are not in the evidence; None when every one
    of ``sources`` (more than one) holds it, or when the connector names no other server.

    ``proxied``: the connector has FrontendProxyEnabled, and ``sources`` are the servers whose Front End
    Transport service connects to Exchange Online for it (they present the certificate the pin names)."""
    if len(sources) < 2:
        return None
    moment, _ = judgement_time(at)
    wanted = (name_key(pin[0]), name_key(pin[1]))
    lacking, unknown = [], []
    for server in sources:
        mine = rows_of(certs, [server]) if certs is not None else None
        if mine is None or mine.empty:
            unknown.append(server)
        elif not any((name_key(present(row.get("issuer")) or ""), name_key(present(row.get("subject")) or ""))
                     == wanted and unusable(row, moment) is None for row in mine.to_dict("records")):
            lacking.append(server)
    if not lacking and not unknown:
        return None
    named = f"connector {connector!r}" if connector else "the send connector"
    parts = []
    if lacking:
        parts.append(f"the certificates of {', '.join(lacking)} show none: pin only once "
                     f"{'it holds' if len(lacking) == 1 else 'they hold'} one")
    if unknown:
        parts.append(f"no certificate export of {', '.join(unknown)} tells whether "
                     f"{'it does' if len(unknown) == 1 else 'they do'}")
    holders = ("server whose Front End Transport service connects to Exchange Online for it (FrontendProxyEnabled)"
               if proxied else "of its source transport servers")
    return (f"the pin on {named} holds for each {holders} ({', '.join(sources)}): each must "
            f"hold a certificate issued by {pin[0]} to {pin[1]}, or it fails with 454 4.7.5 once the pin is set; "
            + "; ".join(parts))
