"""``read_certs``: certificate files and Get-ExchangeCertificate exports into one frame.

Each file's kind is sniffed from its content, never its name. Each format module offers
``sniff(head: bytes, text: str | None) -> str | None`` (the format's name when it
recognises the first bytes; ``text`` is those bytes decoded, or None for binary data) and
``read(evidence, fmt, options, report) -> list[row dict]``. Rows describing one
thumbprint are then merged (``exlab.certs.merge``), once the dates an export printed in the hour
the clocks go back over are settled by the other files, or warned of and their second reading kept
(``not_before_later``, ``not_after_later``: ``exlab.certs.repeated_hour``).
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
    exchange_transcript,
    x509_files,
)
from exlab.certs.merge import merge_rows
from exlab.certs.options import ReadOptions
from exlab.certs.repeated_hour import settle_repeated, tell_repeated, with_later_readings
from exlab.certs.schema import certs_frame
from exlab.certs.text_decoding import decode_text
from exlab.errors import ExlabError, ExlabWarning, UnsupportedFormat
from exlab.evidence import Evidence, Sources, iter_evidence
from exlab.parse_report import FileReport, ParseReport, warn_at
from exlab.text_encoding import refuse_foreign_bom

# A transcript (the console's output of several commands) first, then binary and marked-up shapes; the
# console shapes (list, table) last.
FORMAT_MODULES: tuple[ModuleType, ...] = (exchange_transcript, x509_files, exchange_clixml, exchange_json,
                                          exchange_csv, exchange_list, exchange_table)

EXPECTED_FORMATS = ("a certificate (.cer/.crt/.pem/.der), PKCS#7 (.p7b), PKCS#12 (.pfx), or "
                    "Get-ExchangeCertificate output (the default table or Format-Table with a Thumbprint column, "
                    "Format-List, Export-Csv, Export-Clixml, ConvertTo-Json)")


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
    order when a file does not reveal it. A local time in the hour the clocks go back over that
    no file settles is read as the first pass, its second in ``not_before_later`` /
    ``not_after_later`` (NaT when the date is sure). Rows for one thumbprint are merged; disagreements
    land in ``conflicts``. A file a reader refuses raises its ExlabError
    (:func:`read_readable_certs` reads the others instead).

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
    frame, _ = _read(source, ReadOptions.build(password=password, tz=tz, culture=culture), pass_over=False)
    return frame


def read_readable_certs(source: Sources, *, password: str | bytes | None = None, tz: str | None = None,
                        culture: str | None = None) -> tuple[pd.DataFrame, list[ExlabError]]:
    """:func:`read_certs`, but one bad file does not stop the read of many: the frame of the files
    read, and the errors of those a reader refused. Each refused file is warned (``not read:
    expected ...``, naming the file and the place) and left out; the others are read and merged.
    When no file could be read, the first refusal is raised (the others warned).

    >>> import tempfile, warnings
    >>> from pathlib import Path
    >>> from exlab.lab.pki import LabPki
    >>> folder = Path(tempfile.mkdtemp())
    >>> _ = (folder / "a.pem").write_bytes(b"-----BEGIN CERTIFICATE-----\\nAAAA\\n-----END CERTIFICATE-----\\n")
    >>> _ = (folder / "b.cer").write_bytes(LabPki("doc").public_root.der)
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     frame, refused = read_readable_certs(folder)
    >>> frame["subject"].tolist(), [(Path(err.source).name, err.where) for err in refused]
    (['CN=exlab Lab Public Root CA, O=exlab lab, C=US'], [('a.pem', 'PEM block 1 (line 1)')])
    >>> str(caught[0].message)
    'PEM block 1 (line 1): not read: expected an X.509 certificate (not a DER certificate: ...)'
    """
    return _read(source, ReadOptions.build(password=password, tz=tz, culture=culture), pass_over=True)


def _read(source: Sources, options: ReadOptions, *, pass_over: bool) -> tuple[pd.DataFrame, list[ExlabError]]:
    """The certificates frame of ``source``, and the errors of the files refused (raised unless ``pass_over``)."""
    report = ParseReport()
    rows: list[dict] = []
    refused: list[ExlabError] = []
    by_name = {}
    for evidence in iter_evidence(source, report):
        try:
            file_report, file_rows = _read_file(evidence, options)
        except ExlabError as err:
            if not pass_over:
                raise
            refused.append(err)
            continue
        report.files.append(file_report)
        by_name[evidence.name] = file_report
        rows.extend(file_rows)
    nothing_read = bool(refused) and not by_name   # then the first refusal is raised, the others warned
    for err in refused[nothing_read:]:
        warn_at(ExlabWarning(f"not read: {err.problem}", err.source, err.where))
    if nothing_read:
        raise refused[0]
    rows, told = settle_repeated(rows)
    tell_repeated(told, by_name, options.tz)
    merged, notes = merge_rows(rows)
    for name, note in notes:
        by_name[name].note(f"conflict: {note}")
    return with_later_readings(certs_frame(merged, report), merged), refused


def _read_file(evidence: Evidence, options: ReadOptions) -> tuple[FileReport, list[dict]]:
    """One file's report and rows (an ExlabError when its reader refuses it)."""
    module, fmt = detect_format(evidence)
    report = FileReport(evidence.name, sha256=evidence.sha256, format=fmt, size=evidence.size)
    rows = module.read(evidence, fmt, options, report)
    for row in rows:
        row["source"] = evidence.name
    report.names_server = any(row.get("server") for row in rows)
    report.warn_losses()
    return report, rows


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
