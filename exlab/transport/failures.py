"""``tls_failures(events)``: one row per failed delivery reported by the transport's events.

Event 2004 (a message acknowledged with an SMTP error) gives the connector, the
message id and the full reply; 2015 (a connector that requires TLS could not get it)
the connector, the remote domain and its EHLO answer; 12014 (no certificate for the
connector's name, the local cause of ``454 4.7.5``) the connector and the name that
was looked for. Each reply is split (:func:`parse_smtp_reply`) and classified.

>>> from exlab.events.schema import events_frame
>>> events = events_frame([{"time_created": 1_742_462_042_123_456_700, "computer": "EX01.contoso.com",
...     "provider": "MSExchangeTransport", "event_id": 2004, "record_id": 7, "source": "Application.evtx",
...     "data": {"%1": "Outbound to Office 365", "%2": "<a@contoso.com>",
...              "%3": "454 4.7.0 Failed to establish appropriate TLS channel: UntrustedRoot: Access Denied"}}])
>>> tls_failures(events)[["connector", "code", "enhanced_status", "reason", "cause"]].values.tolist()
[['Outbound to Office 365', 454, '4.7.0', 'UntrustedRoot', 'untrusted-root']]
"""

from __future__ import annotations

import pandas as pd

from exlab.transport.catalog import lookup
from exlab.transport.fields import name_fields
from exlab.transport.schema import FAILURE_DTYPES, make_frame
from exlab.transport.smtp_reply import classify, parse_smtp_reply

FAILURE_EVENTS = (2004, 2015, 12014)
# per event: the named field that holds the reply, and the one that names the remote side
_REPLY_FIELD = {2004: "smtp_response", 2015: "remote_response", 12014: None}
_REMOTE_FIELD = {2004: None, 2015: "remote_domain", 12014: None}


def _cause_12014(name: str | None) -> str | None:
    # a <I>issuer<S>subject name is the connector's TlsCertificateName: its certificate is gone
    return "tlscertificatename-missing" if name and name.startswith("<I>") else None


def tls_failures(events: pd.DataFrame) -> pd.DataFrame:
    """The failures frame (CONTRIBUTING.md) from an events frame, in time order.

    Columns: time_created, computer, provider, event_id, connector, message_id, remote,
    smtp_response, code, enhanced_status, reason (the TLS reason such as UntrustedRoot),
    cause (``classify`` of the reply: untrusted-root, tls-access-denied, ...), record_id, source, line
    (where a text export without record ids has the event); and ``server`` when the events have one
    (``exlab.Case`` attributes each event to its server: an Event Viewer CSV names no computer).

    >>> from exlab.events.schema import events_frame
    >>> tls_failures(events_frame([{"provider": "MSExchangeTransport", "event_id": 12014,
    ...     "data": {"%1": "<I>CN=Old CA<S>CN=mail.contoso.com", "%2": "Outbound to Office 365"}}])).cause.tolist()
    ['tlscertificatename-missing']
    """
    report = events.attrs.get("parse_report")
    dtypes = FAILURE_DTYPES | ({"server": "string"} if "server" in events else {})
    if events.empty:
        return make_frame({}, dtypes, report)
    wanted = events["event_id"].isin(FAILURE_EVENTS).fillna(False).astype(bool)
    known = events.loc[wanted]
    known = known.loc[[lookup(p, e) is not None for p, e in zip(known["provider"], known["event_id"])]]
    named = name_fields(known).sort_values("time_created", kind="stable")
    rows = []
    for event in named.to_dict("records"):
        event_id = int(event["event_id"])
        reply_field, remote_field = _REPLY_FIELD[event_id], _REMOTE_FIELD[event_id]
        response = event[reply_field] if reply_field else None
        response = None if response is None or response is pd.NA else str(response)
        reply = parse_smtp_reply(response) if response else None
        certificate_name = event.get("certificate_name")
        rows.append({
            "time_created": None if pd.isna(event["time_created"]) else event["time_created"].value,
            "computer": event["computer"], "provider": event["provider"], "event_id": event_id,
            "connector": event["connector"], "message_id": event["message_id"],
            "remote": event[remote_field] if remote_field else None, "smtp_response": response,
            "code": reply.code if reply else None, "enhanced_status": reply.enhanced_status if reply else None,
            "reason": reply.tls_reason if reply else None,
            "cause": classify(reply) if reply else _cause_12014(None if pd.isna(certificate_name)
                                                                else str(certificate_name)),
            "record_id": event["record_id"], "source": event["source"], "line": event.get("line"),
            "server": event.get("server"),
        })
    columns = {name: [None if row[name] is pd.NA else row[name] for row in rows] for name in dtypes}
    return make_frame(columns, dtypes, report)
