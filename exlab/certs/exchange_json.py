"""``Get-ExchangeCertificate | ConvertTo-Json`` (usually after ``Select-Object``).

Windows PowerShell 5.1 writes dates as ``"\\/Date(1733147003000)\\/"`` (UTC milliseconds),
enums as numbers (Services 27 = IMAP, POP, IIS, SMTP) unless they were selected as
strings, a single certificate as an object and several as an array, ``RawData`` as an
array of byte values. PowerShell 7 writes ISO dates instead; both are read. From the
Exchange Management Shell (a remote session) each object is the deserialized certificate:
``RawData``, ``PSComputerName``, ``RunspaceId`` and ``SerializationData`` (bytes, where
Services, Status and RootCAType sit, read as the CliXml reader reads them:
:func:`~exlab.certs.exchange_serialized.add_serialized`). Certificates left without any of
them get one warning for the file.

>>> json_time("/Date(1733147003000)/")
Timestamp('2024-12-02 13:43:23+0000', tz='UTC')
>>> json_time({"value": "/Date(1733147003000+0100)/", "DisplayHint": 2})
Timestamp('2024-12-02 13:43:23+0000', tz='UTC')
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pandas as pd

from exlab.certs.exchange_props import PropsContext
from exlab.certs.exchange_serialized import object_rows
from exlab.certs.options import ReadOptions
from exlab.certs.text_decoding import read_text
from exlab.evidence import Evidence
from exlab.json_export import parse_json
from exlab.parse_report import FileReport

FORMAT = "exchange-json"
_MS_DATE = re.compile(r"^/Date\((-?\d+)([+-]\d{4})?\)/$")


def sniff(head: bytes, text: str | None) -> str | None:
    """``exchange-json`` for a JSON object or array with a Thumbprint or RawData property.

    >>> sniff(b"", '{\\r\\n    "Thumbprint":  "AB"'), sniff(b"", '{"Name": "x"}')
    ('exchange-json', None)
    """
    if text is None or not text.lstrip("\ufeff \r\n\t").startswith(("{", "[")):
        return None
    return FORMAT if re.search(r'"(?:Thumbprint|RawData)"\s*:', text) else None


def json_time(value: Any) -> pd.Timestamp | datetime | None:
    """A date as ConvertTo-Json writes it: ``/Date(ms)/`` (UTC), ETS-wrapped, or ISO 8601
    (a naive ISO time is local: the caller applies the server's time zone)."""
    if isinstance(value, dict):
        value = value.get("value")
    if not isinstance(value, str):
        raise ValueError("not a date")
    match = _MS_DATE.match(value)
    if match:
        return pd.Timestamp(int(match.group(1)), unit="ms", tz="UTC")
    moment = datetime.fromisoformat(re.sub(r"(\.\d{6})\d+", r"\1", value))
    return moment if moment.tzinfo is None else pd.Timestamp(moment).tz_convert("UTC")


def _json_bytes(value: Any) -> bytes | None:
    """A ``byte[]`` as ConvertTo-Json writes it (an array of numbers), or as Base64 text; None
    when the value is neither.

    >>> _json_bytes([48, 3, 2, 1, 1]), _json_bytes("MAMCAQE="), _json_bytes(["48"]), _json_bytes("not base64!")
    (b'0\\x03\\x02\\x01\\x01', b'0\\x03\\x02\\x01\\x01', None, None)
    """
    if isinstance(value, list) and all(isinstance(b, int) for b in value):
        return bytes(b & 0xFF for b in value)
    if isinstance(value, str):
        try:
            return base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            return None
    return None


def _props(obj: dict, context: PropsContext, where: str) -> dict:
    props = dict(obj)
    for name in ("NotBefore", "NotAfter"):
        if props.get(name) is not None:
            try:
                props[name] = json_time(props[name])
            except ValueError as err:
                context.report.note(f"{where}: {name} {props[name]!r} not understood ({err}); left NA")
                props.pop(name)
    if props.get("RawData") is not None:
        raw = _json_bytes(props["RawData"])
        if raw is None:
            context.report.note(f"{where}: RawData is neither an array of byte values nor base64; ignored")
            props.pop("RawData")
        else:
            props["RawData"] = raw
    if props.get("SerializationData") is not None:   # what is not bytes is counted by add_serialized
        props["SerializationData"] = _json_bytes(props["SerializationData"]) or props["SerializationData"]
    for name in ("CertificateDomains", "DnsNameList", "EnhancedKeyUsageList"):
        items = props.get(name)
        if isinstance(items, list):
            props[name] = [_item_text(item) for item in items]
    return props


def _item_text(item: Any) -> str:
    """A list item: a string, or an object (SmtpDomainWithSubdomains, DnsNameRepresentation...)."""
    if isinstance(item, dict):
        for key in ("Address", "Domain", "Unicode", "Punycode", "FriendlyName"):
            if isinstance(item.get(key), str):
                return item[key]
    return str(item)


def read(evidence: Evidence, fmt: str, options: ReadOptions, report: FileReport) -> list[dict]:
    """One row per certificate object; an element that is not an object is skipped and counted.

    >>> import io
    >>> from exlab.evidence import open_evidence
    >>> from exlab.parse_report import ParseReport
    >>> text = '{"Thumbprint":  "' + "AB" * 20 + '", "Services":  27, "RootCAType":  2}'
    >>> report = ParseReport().add_file("c.json", sha256="", format=FORMAT)
    >>> [row] = read(open_evidence(io.BytesIO(text.encode())), FORMAT, ReadOptions(), report)
    >>> row["services"], row["root_ca_type"]
    (('IMAP', 'POP', 'IIS', 'SMTP'), 'Enterprise')
    """
    text = read_text(evidence.stream, evidence.name, report).lstrip("\ufeff")
    document = parse_json(text, evidence.name, "JSON", strict=False)
    objects = document if isinstance(document, list) else [document]
    context = PropsContext(report, tz=options.tz)
    return object_rows(_objects(objects, context, report), evidence.name, context, report)


def _objects(objects: list, context: PropsContext, report: FileReport) -> Iterator[tuple[str, dict[str, Any]]]:
    """Each certificate object's place and properties; an element that is not an object is skipped and counted."""
    for number, obj in enumerate(objects, 1):
        where = f"object {number}"
        if not isinstance(obj, dict):
            report.skip_record(where, "expected a JSON object")
            continue
        yield where, _props(obj, context, where)
