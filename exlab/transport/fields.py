"""Named columns for the insertion strings of catalogued transport events.

``name_fields(events)`` adds one column per name in the catalog (``connector``,
``message_id``, ``smtp_response``, ...), filled from each event's ``data`` (``%1``..``%n``)
or, for exports that carry only the rendered text (Event Viewer CSV/TXT in any UI
language), taken back out of the message: the message id (``<...>``), the SMTP response
(``454 4.7.0 ...``) and thumbprints are the same in every language; names around them
(the connector) follow the patterns in ``catalog.json`` for English, Polish, German and
French. What cannot be extracted stays NA.

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

import pandas as pd

from exlab.transport.catalog import CatalogEntry, field_names, insertion_strings, lookup, message_patterns, \
    render_message

_MESSAGE_ID = re.compile(r"<[^<>\s]+>")
_SMTP_RESPONSE = re.compile(r"\b[245]\d\d[ -][245]\.\d{1,3}\.\d{1,3}\b.*", re.DOTALL)
_THUMBPRINT = re.compile(r"\b[0-9A-Fa-f]{40}\b")
# fields taken from a rendered message the same way in every language
_GENERIC = {"message_id": _MESSAGE_ID, "smtp_response": _SMTP_RESPONSE, "remote_response": _SMTP_RESPONSE,
            "thumbprint": _THUMBPRINT}


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
    for name in entry.fields:
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
    names = field_names()
    columns: dict[str, list] = {name: [None] * len(out) for name in names}
    messages = out["message"].astype("object").where(out["message"].notna(), None).tolist() \
        if "message" in out else [None] * len(out)
    providers = out["provider"].tolist() if "provider" in out else [None] * len(out)
    event_ids = out["event_id"].tolist() if "event_id" in out else [None] * len(out)
    datas = out["data"].tolist() if "data" in out else [None] * len(out)
    for index, (provider, event_id) in enumerate(zip(providers, event_ids)):
        if provider is pd.NA or event_id is pd.NA:
            continue
        entry = lookup(provider, event_id)
        if entry is None:
            continue
        data = datas[index] if isinstance(datas[index], Mapping) else {}
        for name, value in _named(entry, data, messages[index]).items():
            columns[name][index] = value
        if messages[index] is None and any(value is not None for value in insertion_strings(entry, data)):
            messages[index] = render_message(provider, event_id, data)
    for name in names:
        out[name] = pd.array(columns[name], dtype="string")
    out["message"] = pd.array(messages, dtype="string")
    return out
