"""``read_certs``: certificate files and Get-ExchangeCertificate exports into one frame.

Each file's kind is sniffed from its content, never its name. Each format module offers
``sniff(head: bytes, text: str | None) -> str | None`` (the format's name when it
recognises the first bytes; ``text`` is those bytes decoded, or None for binary data) and
``read(evidence, fmt, options, report) -> list[row dict]``. Rows describing one
thumbprint are then merged (``exlab.certs.merge``).
"""

from __future__ import annotations

from types import ModuleType

import pandas as pd

from exlab.certs import (
    exchange_clixml,
    exchange_csv,
    exchange_json,
    exchange_list,
    exchange_table,
    x509_files,
)
from exlab.certs.merge import merge_rows
from exlab.certs.options import ReadOptions
from exlab.certs.schema import certs_frame
from exlab.certs.text_decoding import decode_text
from exlab.errors import UnsupportedFormat
from exlab.evidence import Evidence, Sources, iter_evidence
from exlab.parse_report import ParseReport
from exlab.text_encoding import refuse_foreign_bom

# Binary and marked-up shapes first; the console shapes (list, table) last.
FORMAT_MODULES: tuple[ModuleType, ...] = (x509_files, exchange_clixml, exchange_json, exchange_csv,
                                          exchange_list, exchange_table)

EXPECTED_FORMATS = ("a certificate (.cer/.crt/.pem/.der), PKCS#7 (.p7b), PKCS#12 (.pfx), or "
                    "Get-ExchangeCertificate output (table, Format-List, Export-Csv, Export-Clixml, ConvertTo-Json)")


def detect_format(evidence: Evidence) -> tuple[ModuleType, str]:
    """The format module and format name that recognise this file's first bytes (UnsupportedFormat,
    or UnsupportedEncoding for the byte order mark of an encoding no export is written in, if none).

    >>> import io
    >>> from exlab.evidence import open_evidence
    >>> module, fmt = detect_format(open_evidence(io.BytesIO("Thumbprint : ".encode() + b"AB" * 20)))
    >>> module.__name__, fmt
    ('exlab.certs.exchange_list', 'exchange-list')
    """
    head = evidence.head(64 * 1024)
    if not head.strip():
        raise UnsupportedFormat(evidence.name, "the file is empty", EXPECTED_FORMATS)
    refuse_foreign_bom(head, evidence.name)
    text = _head_text(head)
    for module in FORMAT_MODULES:
        fmt = module.sniff(head, text)
        if fmt is not None:
            return module, fmt
    raise UnsupportedFormat(evidence.name, "the first bytes", EXPECTED_FORMATS)


def read_certs(source: Sources, *, password: str | bytes | None = None, tz: str | None = None,
               culture: str | None = None) -> pd.DataFrame:
    """Read certificate files and Get-ExchangeCertificate exports into the certificates frame.

    ``source`` is a path, a folder, a list of them, or a binary file object. ``password``
    opens PKCS#12 files (a missing or wrong one raises ``WrongPassword``). ``tz`` is the
    server's time zone (IANA name) for exports that print local times without an offset
    (Format-List, table, Export-Csv); without it they are read as UTC and the parse report
    says so. ``culture`` (``en-US``, ``pl-PL``, ``de-DE``, ``en-AU``, ...) fixes the day/month
    order when a file does not reveal it. Rows for one thumbprint are merged; disagreements
    land in ``conflicts``.

    >>> import io
    >>> from datetime import datetime, timezone
    >>> from exlab.lab.pki import LabPki
    >>> cert = LabPki("doc").server("mail.contoso.com", ["mail.contoso.com"], ca="internal",
    ...                             not_before=datetime(2025, 3, 14, tzinfo=timezone.utc))
    >>> frame = read_certs(io.BytesIO(cert.pem))
    >>> frame.loc[0, ["subject", "issuer"]].tolist(), bool(frame.loc[0, "server_auth"])
    (['CN=mail.contoso.com', 'CN=Contoso Issuing CA 01, DC=contoso, DC=com'], True)
    >>> frame.loc[0, "thumbprint"] == cert.thumbprint, frame.attrs["parse_report"].records_read
    (True, 1)
    """
    options = ReadOptions.build(password=password, tz=tz, culture=culture)
    report = ParseReport()
    rows: list[dict] = []
    by_name = {}
    for evidence in iter_evidence(source, report):
        module, fmt = detect_format(evidence)
        file_report = report.add_file(evidence.name, sha256=evidence.sha256, format=fmt,
                                      size=evidence.size)
        by_name[evidence.name] = file_report
        for row in module.read(evidence, fmt, options, file_report):
            row["source"] = evidence.name
            rows.append(row)
        file_report.warn_losses()
    merged, notes = merge_rows(rows)
    for name, note in notes:
        by_name[name].note(f"conflict: {note}")
    return certs_frame(merged, report)


def _head_text(head: bytes) -> str | None:
    """The first bytes as text, or None when they are binary (DER, PKCS#12)."""
    if head[:1] == b"\x30" and not head.startswith((b"\xff\xfe", b"\xfe\xff", b"\xef\xbb\xbf")):
        return None
    for cut in (head, head[:-1], head[:-2], head[:-3]):   # the head may end inside a character
        try:
            return decode_text(cut)[0]
        except UnicodeDecodeError:
            continue
    return None
