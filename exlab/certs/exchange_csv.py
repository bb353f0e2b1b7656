"""``Get-ExchangeCertificate | Export-Csv``: a ``#TYPE`` line, then quoted columns.

Export-Csv writes every property with ``ToString()``: enums by name (``IMAP, POP, IIS,
SMTP``, ``Valid``, ``ThirdParty``), dates in the server's culture and local time, and
lists as a type name (``System.Collections.ArrayList`` from a remote shell), whose items
are then not in the file (noted). ``-NoTypeInformation`` files, ``-UseCulture`` (``;``)
delimiters and Windows PowerShell 5.1's default ASCII encoding are all read.

>>> delimiter_of('"AccessRules";"CertificateDomains";"Thumbprint"')
';'
"""

from __future__ import annotations

import csv
import io
import re

from exlab.certs.exchange_props import counted_rows, text_context
from exlab.certs.exchange_values import date_samples
from exlab.certs.options import ReadOptions
from exlab.certs.text_decoding import read_text
from exlab.errors import CorruptInput
from exlab.evidence import Evidence
from exlab.parse_report import FileReport

FORMAT = "exchange-csv"
_TYPE_LINE = re.compile(r"^#TYPE (?:Deserialized\.)?\S*(?:ExchangeCertificate|X509Certificate2)\s*$")


def sniff(head: bytes, text: str | None) -> str | None:
    """``exchange-csv`` for Export-Csv output of certificates (with or without the #TYPE line).

    >>> sniff(b"", "#TYPE Deserialized.Microsoft.Exchange.Management.SystemConfigurationTasks.ExchangeCertificate")
    'exchange-csv'
    """
    if text is None:
        return None
    first = text.lstrip("\ufeff\r\n ").split("\n", 1)[0].strip()
    if _TYPE_LINE.match(first):
        return FORMAT
    if first.startswith('"') and '"Thumbprint"' in first and ('"Services"' in first or '"RawData"' in first):
        return FORMAT
    return None


def delimiter_of(header: str) -> str:
    """The delimiter after the first quoted column name (``,`` or the culture's ``;``)."""
    match = re.match(r'^"[^"]*"(.)', header)
    return match.group(1) if match else ","


def read(evidence: Evidence, fmt: str, options: ReadOptions, report: FileReport) -> list[dict]:
    """One row per CSV record; a record with the wrong number of cells is skipped and counted.

    >>> import io, warnings
    >>> from exlab.evidence import open_evidence
    >>> from exlab.parse_report import ParseReport
    >>> text = '"Thumbprint","Services","NotAfter"\\r\\n"' + "AB" * 20 + '","IIS, SMTP","14.03.2027 09:12:05"\\r\\n'
    >>> report = ParseReport().add_file("c.csv", sha256="", format=FORMAT)
    >>> with warnings.catch_warnings(record=True):   # no tz given: UTC assumed, and said
    ...     [row] = read(open_evidence(io.BytesIO(text.encode())), FORMAT, ReadOptions(), report)
    >>> row["services"], row["not_after"], report.assumed_tz
    (('IIS', 'SMTP'), Timestamp('2027-03-14 09:12:05+0000', tz='UTC'), 'UTC')
    """
    text = read_text(evidence.stream, evidence.name, report).lstrip("\ufeff")
    start = 1 if text.startswith("#TYPE") else 0
    body = text.split("\n", 1)[1] if start and "\n" in text else ("" if start else text)
    reader = csv.reader(io.StringIO(body, newline=""), delimiter=delimiter_of(body.lstrip()))
    try:
        header = next(reader)
    except (StopIteration, csv.Error) as err:
        raise CorruptInput(evidence.name, f"line {start + 1}", "a header line of quoted property names",
                           str(err) or None) from None
    records = []
    while True:
        try:
            record = next(reader)
        except StopIteration:
            break
        except csv.Error as err:   # e.g. a stray carriage return inside a damaged record
            report.skip_record(f"line {start + reader.line_num}", str(err))
            continue
        line = start + reader.line_num
        if not any(cell.strip() for cell in record):
            continue
        if len(record) != len(header):
            report.skip_record(f"line {line}", f"{len(record)} cells where the header has {len(header)}")
            continue
        records.append((line, {name: value for name, value in zip(header, record) if value != ""}))
    samples = [s for _, props in records for k in ("NotAfter", "NotBefore") if k in props
               for s in date_samples(props[k])]
    context = text_context(report, options, samples, evidence.name)
    return [row for line, props in records for row in counted_rows(props, context, f"line {line}")]
