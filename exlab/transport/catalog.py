"""The Exchange transport events exlab knows, kept as data in ``catalog.json``.

Classic sources such as MSExchangeTransport store only unnamed insertion strings
(``%1``, ``%2``, ...); the catalog gives them names and an English message template,
so a frame read from an .evtx (no rendered text) can still be read by a person.

>>> entry = lookup("MSExchangeTransport", 2004)
>>> entry.fields
('connector', 'message_id', 'smtp_response')
>>> render_message("MSExchangeTransport", 2004, {"%1": "Outbound to Office 365", "%2": "<a@b>",
...     "%3": "454 4.7.0 Failed to establish appropriate TLS channel: UntrustedRoot: Access Denied"})
'Send connector Outbound to Office 365: Message delivery was not successful. The message with message ID <a@b> was acknowledged with SMTP response 454 4.7.0 Failed to establish appropriate TLS channel: UntrustedRoot: Access Denied.'
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources

import pandas as pd

_PLACEHOLDER = re.compile(r"%(\d+)")


@dataclass(frozen=True)
class CatalogEntry:
    """One catalogued event: who logs it, how, and what its insertion strings are."""

    event_id: int
    providers: tuple[str, ...]
    qualifiers: int
    level: int
    task: int
    task_name: str
    meaning: str
    fields: tuple[str, ...]
    message: str
    wording: str          # "exchange" (Exchange's own shape) or "exlab" (exlab's summary)


@dataclass(frozen=True)
class MessagePattern:
    """A regular expression that takes named fields out of a rendered message in one language."""

    language: str
    regex: re.Pattern


@cache
def _load() -> tuple[tuple[CatalogEntry, ...], dict[tuple[str, int], CatalogEntry],
                    dict[int, tuple[MessagePattern, ...]]]:
    raw = json.loads(resources.files("exlab.transport").joinpath("catalog.json").read_text("utf-8"))
    entries = tuple(
        CatalogEntry(
            event_id=int(item["event_id"]), providers=tuple(item["providers"]),
            qualifiers=int(item["qualifiers"]), level=int(item["level"]), task=int(item["task"]),
            task_name=item["task_name"], meaning=item["meaning"], fields=tuple(item["fields"]),
            message=item["message"], wording=item["wording"])
        for item in raw["events"])
    index = {(provider.lower(), entry.event_id): entry for entry in entries for provider in entry.providers}
    patterns = {
        int(key): tuple(MessagePattern(p["language"], re.compile(p["pattern"], re.DOTALL)) for p in value)
        for key, value in raw["message_patterns"].items() if key != "about"
    }
    return entries, index, patterns


def lookup(provider: str | None, event_id: int | None) -> CatalogEntry | None:
    """The catalog entry of ``provider``/``event_id`` (provider case-insensitive), or None.

    >>> lookup("msexchangefrontendtransport", 12014).task_name
    'TransportService'
    >>> lookup("Service Control Manager", 7036) is None
    True
    """
    if provider is None or event_id is None:
        return None
    return _load()[1].get((str(provider).lower(), int(event_id)))


def catalog_entries() -> tuple[CatalogEntry, ...]:
    """Every catalogued event, once each (an entry lists the providers that log it).

    >>> len(catalog_entries())
    11
    """
    return _load()[0]


def field_names() -> tuple[str, ...]:
    """Every insertion-string name in the catalog, each once, in catalog order.

    >>> field_names()[:3]
    ('connector', 'message_id', 'smtp_response')
    """
    names: dict[str, None] = {}
    for entry in _load()[0]:
        names.update(dict.fromkeys(entry.fields))
    return tuple(names)


def message_patterns(event_id: int) -> tuple[MessagePattern, ...]:
    """The per-language patterns that take fields out of a rendered message of ``event_id``.

    >>> [p.language for p in message_patterns(2004)]
    ['en', 'pl', 'de', 'fr']
    """
    return _load()[2].get(int(event_id), ())


def catalog() -> pd.DataFrame:
    """The catalog as a frame: one row per provider and event id.

    >>> frame = catalog()
    >>> frame.loc[(frame.provider == "MSExchangeTransport") & (frame.event_id == 2015), "fields"].item()
    ('connector', 'remote_domain', 'remote_response')
    >>> sorted(set(frame.provider))
    ['MSExchangeFrontEndTransport', 'MSExchangeTransport']
    """
    rows = []
    for entry in _load()[0]:
        for provider in entry.providers:
            rows.append({"provider": provider, "event_id": entry.event_id, "qualifiers": entry.qualifiers,
                         "level": entry.level, "task": entry.task, "task_name": entry.task_name,
                         "meaning": entry.meaning, "fields": entry.fields, "message": entry.message,
                         "wording": entry.wording})
    frame = pd.DataFrame(rows)
    for column in ("provider", "task_name", "meaning", "message", "wording"):
        frame[column] = frame[column].astype("string")
    for column in ("event_id", "qualifiers", "task"):
        frame[column] = frame[column].astype("Int32")
    frame["level"] = frame["level"].astype("Int8")
    frame["fields"] = frame["fields"].astype("object")
    return frame.sort_values(["provider", "event_id"], ignore_index=True)


def render_message(provider: str | None, event_id: int | None, data: Mapping[str, str] | None) -> str | None:
    """exlab's English rendering of an event from its insertion strings, or None if not catalogued.

    ``data`` is keyed ``%1``, ``%2``, ... (the events frame's shape); a key named like the
    catalog's field (``connector``) is accepted too. A missing insertion string stays ``%n``.

    >>> render_message("MSExchangeTransport", 12016, {"%1": "mail.contoso.com"})
    'The STARTTLS certificate for the FQDN mail.contoso.com has expired.'
    >>> render_message("MSExchangeTransport", 12016, {})
    'The STARTTLS certificate for the FQDN %1 has expired.'
    >>> render_message("Foo", 1, {}) is None
    True
    """
    entry = lookup(provider, event_id)
    if entry is None:
        return None
    values = insertion_strings(entry, data or {})

    def fill(match: re.Match) -> str:
        index = int(match.group(1))
        value = values[index - 1] if 0 < index <= len(values) else None
        return match.group(0) if value is None else value

    return _PLACEHOLDER.sub(fill, entry.message)


def insertion_strings(entry: CatalogEntry, data: Mapping[str, str]) -> list[str | None]:
    """The values of %1..%n of an event (n = the template's highest placeholder or field count).

    >>> insertion_strings(lookup("MSExchangeTransport", 12014), {"%1": "mail.contoso.com"})
    ['mail.contoso.com', None]
    """
    highest = max([len(entry.fields)] + [int(n) for n in _PLACEHOLDER.findall(entry.message)])
    values: list[str | None] = []
    for index in range(1, highest + 1):
        value = data.get(f"%{index}")
        if value is None and index <= len(entry.fields):
            value = data.get(entry.fields[index - 1])
        values.append(None if value is None else str(value))
    return values
