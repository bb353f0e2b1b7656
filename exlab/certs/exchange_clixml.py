"""``Get-ExchangeCertificate | Export-Clixml``, from a local or a remote Exchange shell.

A local shell writes one ``<Obj>`` per certificate with typed properties: ``<S>`` text,
``<B>`` booleans, ``<DT>`` dates with their offset, ``<I32>`` numbers, ``<BA>`` bytes
(``RawData``, the DER). Enums (Services, Status, RootCAType) are ``<Obj>`` elements with
``<ToString>`` (the names) and ``<I32>`` (the number), or plain ``<S>`` names / ``<I32>``
numbers; lists are ``<LST>``. The Exchange Management Shell is always a remote session: its
objects keep only ``RawData`` under ``<Props>`` and, under ``<MS>``, ``PSComputerName`` (the
server) and ``SerializationData``, the certificate as Exchange serialized it, where Services,
Status, RootCAType, SelfSigned and Identity sit (read by
:mod:`exlab.certs.exchange_serialized`). Where none of them is left (a ``Deserialized.`` object
with RawData only) the columns stay NA and one warning for the file asks for
``Get-ExchangeCertificate | Format-List *``. :mod:`exlab.clixml` decodes the document; this
module gives each certificate's properties as Format-List shows them (enums by name, nested
objects as their text) to :func:`~exlab.certs.exchange_props.counted_rows`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pandas as pd

from exlab.certs.exchange_props import PropsContext
from exlab.certs.exchange_serialized import object_rows
from exlab.certs.options import ReadOptions
from exlab.certs.text_decoding import read_text
from exlab.clixml import ClixmlDateTime, ClixmlObject, iter_items, shown
from exlab.evidence import Evidence
from exlab.parse_report import FileReport

FORMAT = "exchange-clixml"


def sniff(head: bytes, text: str | None) -> str | None:
    """``exchange-clixml`` for a CliXml document holding certificates.

    >>> sniff(b"", '<Objs Version="1.1.0.1"><Obj RefId="0"><BA N="RawData">MII=</BA>')
    'exchange-clixml'
    """
    if text is None or not text.lstrip("\ufeff \r\n").startswith(("<Objs", "<?xml")):
        return None
    return FORMAT if re.search(r"ExchangeCertificate|X509Certificate2|N=\"RawData\"", text) else None


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
    text = read_text(evidence.stream, evidence.name, report)
    return object_rows(_objects(text, evidence.name, report), evidence.name, PropsContext(report, tz=options.tz),
                       report)


def _objects(text: str, source: str, report: FileReport) -> Iterator[tuple[str, dict[str, Any]]]:
    """Each certificate object's place and properties; an item that is not an object is skipped and counted."""
    for item in iter_items(text, source):
        where = f"object {item.position}"
        if item.error is not None:
            report.skip_record(where, item.error)
            continue
        if not isinstance(item.value, ClixmlObject):
            report.skip_record(where, f"expected <Obj>, found <{item.tag}>")
            continue
        yield where, _properties(item.value, where, report)


def _properties(obj: ClixmlObject, where: str, report: FileReport) -> dict[str, Any]:
    """The certificate's properties as Format-List shows them, dates as moments; what cannot be
    understood is noted and left out (its column stays NA)."""
    props: dict[str, Any] = {}
    problems = dict(obj.errors)
    for name, value in obj.items():
        try:
            props[name] = _moment(value) if isinstance(value, ClixmlDateTime) else shown(value)
        except (ValueError, OverflowError) as err:
            problems[name] = str(err)
    for name, reason in problems.items():
        report.note(f"{where}: {name} not understood ({reason}); left NA")
    return props


def _moment(value: ClixmlDateTime) -> pd.Timestamp | datetime:
    """A ``<DT>`` to the microsecond: UTC when written with an offset, naive (the server's local
    time, Kind=Unspecified) without one."""
    moment = value.to_datetime()
    return moment if moment.tzinfo is None else pd.Timestamp(moment).tz_convert("UTC")
