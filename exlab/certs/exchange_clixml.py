"""``Get-ExchangeCertificate | Export-Clixml``, from a local or a remote Exchange shell.

Both shapes hold one ``<Obj>`` per certificate with typed properties: ``<S>`` text,
``<B>`` booleans, ``<DT>`` dates with their offset, ``<I32>`` numbers, ``<BA>`` bytes
(``RawData``, the DER). Enums (Services, Status, RootCAType) are ``<Obj>`` elements with
``<ToString>`` (the names) and ``<I32>`` (the number); lists are ``<LST>``. A remote shell
gives ``Deserialized.`` type names and a ``SerializationData`` blob, which exlab never
decodes; when Exchange could not deserialize the object only ``RawData`` is left, and the
certificate is still read from it. XML goes through defusedxml.

>>> decode_string("[Subject]_x000D__x000A_  CN=mail.contoso.com")
'[Subject]\\r\\n  CN=mail.contoso.com'
>>> clixml_time("2027-03-14T10:12:05.1234567+01:00")
Timestamp('2027-03-14 09:12:05.123456+0000', tz='UTC')
"""

from __future__ import annotations

import base64
import binascii
import re
from datetime import datetime
from typing import Any
from xml.etree.ElementTree import Element, ParseError

import pandas as pd
from defusedxml import ElementTree

from exlab.certs.exchange_props import PropsContext, counted_rows
from exlab.certs.options import ReadOptions
from exlab.certs.text_decoding import read_text
from exlab.errors import CorruptInput
from exlab.events.clixml import decode_string
from exlab.evidence import Evidence
from exlab.parse_report import FileReport

FORMAT = "exchange-clixml"
_NS = "{http://schemas.microsoft.com/powershell/2004/04}"
_NUMBERS = ("I32", "I64", "U32", "U64", "I16", "U16", "By", "SB")
_LISTS = ("LST", "IE", "STK", "QUE")
_MAX_DEPTH = 20   # Export-Clixml's default -Depth is 2; this only stops reference loops


def sniff(head: bytes, text: str | None) -> str | None:
    """``exchange-clixml`` for a CliXml document holding certificates.

    >>> sniff(b"", '<Objs Version="1.1.0.1"><Obj RefId="0"><BA N="RawData">MII=</BA>')
    'exchange-clixml'
    """
    if text is None or not text.lstrip("\ufeff \r\n").startswith(("<Objs", "<?xml")):
        return None
    return FORMAT if re.search(r"ExchangeCertificate|X509Certificate2|N=\"RawData\"", text) else None


def clixml_time(text: str) -> pd.Timestamp | datetime:
    """A ``<DT>`` value: round-trip ISO 8601 with up to 7 fraction digits (naive when Kind=Unspecified)."""
    value = re.sub(r"(\.\d{6})\d+", r"\1", text.strip()).replace("Z", "+00:00")
    moment = datetime.fromisoformat(value)
    return moment if moment.tzinfo is None else pd.Timestamp(moment).tz_convert("UTC")


def _tag(element: Element) -> str:
    return element.tag.removeprefix(_NS)


def _value(element: Element, refs: dict[str, Element], depth: int = 0) -> Any:
    """The Python value of one CliXml element (enums: their names; lists: item texts)."""
    if depth > _MAX_DEPTH:
        raise ValueError(f"objects nested deeper than {_MAX_DEPTH} (a reference loop?)")
    tag = _tag(element)
    text = element.text or ""
    if tag == "S":
        return decode_string(text)
    if tag == "B":
        return text.strip().lower() == "true"
    if tag in _NUMBERS:
        return int(text)
    if tag == "DT":
        return clixml_time(text)
    if tag == "BA":
        return base64.b64decode(text, validate=False)
    if tag == "Nil":
        return None
    if tag == "Ref":
        target = refs.get(element.get("RefId", ""))
        return _value(target, refs, depth + 1) if target is not None else None
    if tag == "Obj":
        for child in element:
            if _tag(child) in _LISTS:
                return [_value(item, refs, depth + 1) for item in child]
        string = element.find(f"{_NS}ToString")
        if string is not None:
            return decode_string(string.text or "")
        for child in element:
            if _tag(child) in _NUMBERS:
                return int(child.text or "0")
        props = element.find(f"{_NS}Props")
        if props is not None:
            return {child.get("N"): _value(child, refs, depth + 1) for child in props if child.get("N")}
        return None
    return decode_string(text)


def read(evidence: Evidence, fmt: str, options: ReadOptions, report: FileReport) -> list[dict]:
    """One row per top-level ``<Obj>``; an object that names no certificate is skipped and counted.

    >>> import io
    >>> from exlab.evidence import open_evidence
    >>> from exlab.parse_report import ParseReport
    >>> xml = ('<Objs Version="1.1.0.1" xmlns="http://schemas.microsoft.com/powershell/2004/04"><Obj RefId="0">'
    ...        '<Props><S N="Thumbprint">' + "AB" * 20 + '</S><Obj N="Services" RefId="1"><ToString>IIS, SMTP'
    ...        '</ToString><I32>24</I32></Obj><DT N="NotAfter">2027-03-14T10:12:05+01:00</DT></Props></Obj></Objs>')
    >>> report = ParseReport().add_file("c.xml", sha256="", format=FORMAT)
    >>> [row] = read(open_evidence(io.BytesIO(xml.encode())), FORMAT, ReadOptions(), report)
    >>> row["services"], row["not_after"]
    (('IIS', 'SMTP'), Timestamp('2027-03-14 09:12:05+0000', tz='UTC'))
    """
    text = read_text(evidence.stream, evidence.name, report).lstrip("\ufeff")
    try:
        root = ElementTree.fromstring(text)
    except ParseError as err:
        line, column = err.position
        raise CorruptInput(evidence.name, f"line {line} column {column}", "well-formed CliXml", str(err)) from None
    if _tag(root) != "Objs":
        raise CorruptInput(evidence.name, "the root element", "<Objs> (Export-Clixml)")
    refs = {obj.get("RefId"): obj for obj in root.iter(f"{_NS}Obj") if obj.get("RefId")}
    context = PropsContext(report, tz=options.tz)
    rows: list[dict] = []
    blobs = 0
    for number, obj in enumerate(root, 1):
        where = f"object {number}"
        if _tag(obj) != "Obj":
            report.skip_record(where, f"expected <Obj>, found <{_tag(obj)}>")
            continue
        props = {}
        for section in ("Props", "MS"):
            for child in obj.findall(f"{_NS}{section}/*"):
                if child.get("N"):
                    try:
                        props[child.get("N")] = _value(child, refs)
                    except (ValueError, binascii.Error) as err:
                        report.note(f"{where}: {child.get('N')} not understood ({err}); left NA")
        blobs += "SerializationData" in props
        rows.extend(counted_rows(props, context, where))
    if blobs:
        report.note(f"{blobs} object(s) from a remote shell: their SerializationData blobs are not decoded")
    return rows
