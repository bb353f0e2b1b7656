"""Named columns for the insertion strings of catalogued transport events.

``name_fields(events)`` adds one column per name in the catalog (``connector``,
``message_id``, ``smtp_response``, ...), filled from each event's ``data`` (``%1``..``%n``)
or, for exports that carry only the rendered text (Event Viewer CSV/TXT in any UI
language), taken back out of the message: the message id (``<...>``), the SMTP response
(``454 4.7.0 ...``) and thumbprints are the same in every language; names around them
(the connector) follow the patterns in ``catalog.json`` for English, Polish, German and
French. What cannot be extracted stays NA: the connector, subject or FQDN in a language
without a pattern; anything of 2005, 11005 and 12023, whose insertion strings are not
named; a response not in ``<code> <x.y.z>`` form. Thumbprints (40 hex digits) are taken in
the order the event names them (12024: the configured one, then the ephemeral one).

>>> import pandas as pd
>>> from exlab.events.schema import events_frame
>>> events = events_frame([{"provider": "MSExchangeTransport", "event_id": 2004, "data": {},
...     "message": "Wyślij łącznik Outbound to Office 365: dostarczanie komunikatów nie powiodło się. "
...                "Komunikat o identyfikatorze <a@b.pl> został potwierdzony z odpowiedzią SMTP "
...                "454 4.7.0 Nie można ustanowić odpowiedniego kanału TLS: UntrustedRoot: Odmowa dostępu."}])
>>> name_fields(events).loc[0, ["connector", "message_id", "smtp_response"]].tolist()
['Outbound to Office 365', '<a@b.pl>', '454 4.7.0 Nie można ustanowić odpowiedniego kanału TLS: UntrustedRoot: Odmowa dostępu']
"""

from __future__ import annotations

import re
from collections.abc import Mapping

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from exlab.transport.catalog import CatalogEntry, catalog_entries, field_names, insertion_strings, lookup, \
    message_patterns, render_message

_MESSAGE_ID = re.compile(r"<[^<>\s]+>")
_SMTP_RESPONSE = re.compile(r"\b[245]\d\d[ -][245]\.\d{1,3}\.\d{1,3}\b.*", re.DOTALL)
_THUMBPRINT = re.compile(r"\b[0-9A-Fa-f]{40}\b")
# fields taken from a rendered message the same way in every language
_GENERIC = {"message_id": _MESSAGE_ID, "smtp_response": _SMTP_RESPONSE, "remote_response": _SMTP_RESPONSE}


def fields_from_message(entry: CatalogEntry, message: str) -> dict[str, str]:
    """The named fields of one catalogued event taken out of its rendered message (any known language).

    >>> entry = lookup("MSExchangeTransport", 2004)
    >>> fields_from_message(entry, "Send connector X: Message delivery was not successful. The message with "
    ...     "message ID <m@x> was acknowledged with SMTP response 454 4.7.5 Not found.")
    {'connector': 'X', 'message_id': '<m@x>', 'smtp_response': '454 4.7.5 Not found'}
    """
    text = message.strip()
    found: dict[str, str] = {}
    for pattern in message_patterns(entry.event_id):
        match = pattern.regex.search(text)
        if match:
            for name, value in match.groupdict().items():
                if value is not None:
                    found.setdefault(name, value.strip())
    thumbprints = iter(_THUMBPRINT.findall(text))   # in the order the template names them
    for name in entry.fields:
        if name.endswith("thumbprint"):
            value = next(thumbprints, None)
            if value is not None:
                found.setdefault(name, value)
            continue
        regex = _GENERIC.get(name)
        if name in found or regex is None:
            continue
        match = regex.search(text)
        if match:
            value = match.group(0).strip()
            if regex is _SMTP_RESPONSE and entry.message.endswith(f"%{entry.fields.index(name) + 1}."):
                value = value[:-1] if value.endswith(".") else value   # the sentence's own full stop
            found[name] = value
    return {name: found[name] for name in entry.fields if name in found}


def _named(entry: CatalogEntry, data: Mapping[str, str] | None, message: str | None) -> dict[str, str]:
    values = insertion_strings(entry, data or {})
    named = {name: value for name, value in zip(entry.fields, values) if value is not None}
    if len(named) < len(entry.fields) and isinstance(message, str) and message:
        for name, value in fields_from_message(entry, message).items():
            named.setdefault(name, value)
    return named


def name_fields(events: pd.DataFrame) -> pd.DataFrame:
    """A copy of an events frame with a column per catalog field name and ``message`` filled.

    Rows of events the catalog does not know keep NA in the new columns and their
    message as it was. ``message`` keeps the export's own text where there is one and
    gets exlab's English rendering (``catalog.render_message``) where there is none.

    >>> from exlab.events.schema import events_frame
    >>> frame = name_fields(events_frame([{"provider": "MSExchangeTransport", "event_id": 12014,
    ...     "data": {"%1": "mail.contoso.com", "%2": "Outbound to Office 365"}}]))
    >>> frame.loc[0, "certificate_name"], frame.loc[0, "message"][:45]
    ('mail.contoso.com', 'Microsoft Exchange could not find a certifica')
    """
    out = events.copy()
    positions = _catalogued(out)
    found: dict[str, dict[int, str]] = {name: {} for name in field_names()}
    rendered: dict[int, str] = {}
    message = out["message"] if "message" in out else pd.Series(pd.NA, index=out.index, dtype="string")
    # the catalogued rows' cells, a column at a time (a row Series per event cost ~0.2 ms each)
    cells = zip(positions, out["provider"].iloc[positions].tolist(), out["event_id"].iloc[positions].tolist(),
                out["data"].iloc[positions].tolist() if "data" in out else [None] * len(positions),
                message.iloc[positions].tolist())
    for position, provider, event_id, data, text in cells:
        entry = lookup(provider, event_id)
        data = data if isinstance(data, Mapping) else {}
        text = None if text is pd.NA or text is None else str(text)
        for name, value in _named(entry, data, text).items():
            found[name][position] = value
        if text is None and any(value is not None for value in insertion_strings(entry, data)):
            rendered[position] = render_message(entry.providers[0], entry.event_id, data)
    for name, values in found.items():
        out[name] = _sparse_strings(out.index, values)
    filled = _sparse_strings(out.index, rendered)
    out["message"] = message.astype("string").where(message.notna(), filled)
    return out


def _catalogued(events: pd.DataFrame) -> list[int]:
    """Positions of the rows whose provider and event id are in the catalog (checked column-wise)."""
    if events.empty or "provider" not in events or "event_id" not in events:
        return []
    providers = events["provider"].astype("string").str.lower()
    known = {(p.lower(), e.event_id) for e in catalog_entries() for p in e.providers}
    candidates = np.flatnonzero(events["event_id"].isin({event_id for _, event_id in known}).fillna(False)
                                .to_numpy(bool))
    pairs = zip(candidates.tolist(), providers.iloc[candidates].tolist(), events["event_id"].iloc[candidates].tolist())
    return [i for i, provider, event_id in pairs if (provider, int(event_id)) in known]


def _sparse_strings(index: pd.Index, values: Mapping[int, str]) -> pd.Series:
    """A string column that is NA except at the given positions (cheap for millions of rows)."""
    column = pa.nulls(len(index), pa.large_string())
    if values:
        mask = np.zeros(len(index), dtype=bool)
        ordered = sorted(values)
        mask[ordered] = True
        column = pc.replace_with_mask(column, pa.array(mask),
                                      pa.array([values[i] for i in ordered], pa.large_string()))
    return pd.Series(column, index=index, dtype=pd.ArrowDtype(pa.large_string())).astype("string")
