"""Certificate files: PEM (single or bundles), DER, PKCS#7 (.p7b, PEM or DER) and PKCS#12 (.pfx/.p12).

The kind of file is sniffed from its bytes, never its name; a CERTIFICATE block whose
content type is PKCS#7 SignedData (AD CS web enrollment's ``certnew.p7b``) gives the
certificates it holds. Every certificate becomes a row of X.509 facts
(``exlab.certs.x509_facts``); a PKCS#12 file, or a PEM file that also holds the matching
private key, says which certificate carries the key.

>>> import io
>>> from exlab.certs.options import ReadOptions
>>> from exlab.evidence import open_evidence
>>> from exlab.parse_report import ParseReport
>>> sniff(b"", "-----BEGIN CERTIFICATE-----\\nMIIB...-----END "), sniff(b"\\x30\\x03\\x02\\x01\\x03", None)
('pem', 'pkcs12')
>>> evidence = open_evidence(io.BytesIO(b"-----BEGIN CERTIFICATE-----\\nAAAA\\n-----END CERTIFICATE-----\\n"))
>>> read(evidence, "pem", ReadOptions(), ParseReport().add_file("x", sha256="", format="pem"))
Traceback (most recent call last):
...
exlab.errors.CorruptInput: <stream>, PEM block 1 (line 1): expected an X.509 certificate (not a DER certificate: ...)
"""

from __future__ import annotations

import base64
import binascii
import re
import warnings
from bisect import bisect_left
from collections.abc import Iterator
from typing import NamedTuple

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import pkcs7, pkcs12

from exlab.certs.options import ReadOptions
from exlab.certs.signatures import public_key_der
from exlab.certs.text_decoding import decode_text
from exlab.certs.x509_facts import certificate_facts
from exlab.errors import CorruptInput, UnsupportedFormat, WrongPassword
from exlab.evidence import Evidence
from exlab.limits import read_whole
from exlab.parse_report import FileReport

FORMATS = ("pem", "der", "pkcs7", "pkcs12")

# the closing dashes in a lookahead: markers may share them ("-----BEGIN A-----END A-----"); the
# opening ones matched, so the search skips to each marker (a lookahead at every byte was 15x slower)
_PEM_BEGIN = re.compile(rb"-----BEGIN ([A-Z0-9 #]+)(?=-----)")
_PEM_END = re.compile(rb"-----END ([A-Z0-9 #]+)(?=-----)")
_CERT_LABELS = {b"CERTIFICATE", b"X509 CERTIFICATE", b"TRUSTED CERTIFICATE"}
_PKCS7_LABELS = {b"PKCS7", b"PKCS #7 SIGNED DATA", b"CMS"}
_KEY_LABELS = {b"PRIVATE KEY", b"RSA PRIVATE KEY", b"EC PRIVATE KEY", b"DSA PRIVATE KEY",
               b"ENCRYPTED PRIVATE KEY"}
_SIGNED_DATA_OID = bytes.fromhex("06092a864886f70d010702")


def sniff(head: bytes, text: str | None) -> str | None:
    """``pem``, ``der``, ``pkcs7`` or ``pkcs12`` when the first bytes look like one, else None.

    >>> sniff(bytes.fromhex("3082010a3082"), None), sniff(b"Thumbprint", "Thumbprint")
    ('der', None)
    """
    if text is not None and "-----BEGIN " in text and "-----END " in text:
        only_pkcs7 = "-----BEGIN PKCS7-----" in text and "CERTIFICATE-----" not in text
        return "pkcs7" if only_pkcs7 else "pem"
    inner = _der_contents(head)
    if inner is None:
        return None
    if inner.startswith(b"\x02\x01\x03"):
        return "pkcs12"
    if _is_signed_data(head):
        return "pkcs7"
    if inner[:1] == b"\x30":
        return "der"
    return None


def read(evidence: Evidence, fmt: str, options: ReadOptions, report: FileReport) -> list[dict]:
    """Rows of X.509 facts, one per certificate in the file (see the module's docstring).

    >>> import io
    >>> from exlab.evidence import open_evidence
    >>> from exlab.lab.pki import LabPki
    >>> from exlab.parse_report import ParseReport
    >>> root = LabPki("doc").internal_root
    >>> report = ParseReport().add_file("root.cer", sha256="", format="der")
    >>> [row["subject"] for row in read(open_evidence(io.BytesIO(root.der)), "der", ReadOptions(), report)]
    ['CN=Contoso Root CA, DC=contoso, DC=com']
    """
    data = read_whole(evidence.stream, evidence.name, "a certificate file")
    if fmt == "pem" or data.lstrip()[:1] not in (b"\x30", b""):   # PEM, or PEM PKCS#7
        return _read_pem(evidence.name, _ascii_pem(data, report), options, report)
    if fmt == "pkcs12":
        return _read_pkcs12(evidence.name, data, options, report)
    if fmt == "pkcs7":
        return _rows_of_objects(evidence.name, "PKCS#7", _load_pkcs7(evidence.name, "the file", data, report, der=True),
                                report)
    return [_row_of_der(evidence.name, "the file", data, report)]


def _ascii_pem(data: bytes, report: FileReport) -> bytes:
    """PEM text as bytes, also when PowerShell's Out-File saved it as UTF-16 (or with a BOM)."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff", b"\xef\xbb\xbf")) or b"\x00" in data[:64]:
        text, encoding = decode_text(data[: len(data) // 2 * 2] if b"\x00" in data[:64] else data)
        report.note(f"PEM text in {encoding}")
        return text.encode("ascii", errors="replace")
    return data


def _der_contents(head: bytes) -> bytes | None:
    """The bytes inside a DER (or BER indefinite-length) SEQUENCE at the start, or None."""
    if len(head) < 2 or head[0] != 0x30:
        return None
    first = head[1]
    if first < 0x80:
        return head[2:]
    count = first & 0x7F
    if first == 0x80:
        return head[2:]
    if count > 4 or len(head) < 2 + count:
        return None
    return head[2 + count:]


def _is_signed_data(der: bytes) -> bool:
    """Whether DER (or BER) bytes are a PKCS#7 ContentInfo of content type SignedData
    (1.2.840.113549.1.7.2), what a .p7b holds, rather than a certificate.

    >>> _is_signed_data(bytes.fromhex("3080") + _SIGNED_DATA_OID), _is_signed_data(bytes.fromhex("30820100308201"))
    (True, False)
    """
    return (_der_contents(der) or b"").startswith(_SIGNED_DATA_OID)


def _der_length(data: bytes) -> int | None:
    """Length in bytes of the DER element at the start of ``data`` (definite lengths only)."""
    if len(data) < 2:
        return None
    first = data[1]
    if first < 0x80:
        return 2 + first
    count = first & 0x7F
    if count == 0 or count > 4 or len(data) < 2 + count:
        return None
    return 2 + count + int.from_bytes(data[2:2 + count], "big")


def _row_of_der(name: str, where: str, der: bytes, report: FileReport,
                cert: x509.Certificate | None = None) -> dict:
    try:
        facts = certificate_facts(der, cert)
    except ValueError as err:
        raise CorruptInput(name, where, "an X.509 certificate", str(err)) from None
    for note in facts.notes:
        report.note(f"{where}: {note}")
    report.records_read += 1
    return facts.row


def _rows_of_objects(name: str, kind: str, certs: list[x509.Certificate], report: FileReport) -> list[dict]:
    if not certs:
        report.note(f"the {kind} structure holds no certificate")
    return [_row_of_der(name, f"{kind} certificate {i}", c.public_bytes(serialization.Encoding.DER), report, c)
            for i, c in enumerate(certs, 1)]


def _noting_warnings(report: FileReport, where: str, load, *args):
    """``load(*args)``, with the parser's warnings (BER instead of DER, ...) noted instead of raised."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = load(*args)
    for message in dict.fromkeys(str(w.message) for w in caught):
        report.note(f"{where}: {message}")
    return result


def _load_pkcs7(name: str, where: str, data: bytes, report: FileReport, *, der: bool) -> list[x509.Certificate]:
    load = pkcs7.load_der_pkcs7_certificates if der else pkcs7.load_pem_pkcs7_certificates
    try:
        return _noting_warnings(report, where, load, data)
    except (ValueError, UnsupportedAlgorithm) as err:
        raise CorruptInput(name, where, "a PKCS#7 structure holding certificates", str(err)) from None


class PemBlock(NamedTuple):
    """One ``-----BEGIN label-----`` ... ``-----END label-----`` block: its label, where it
    starts in the file, the text between the two lines, and the whole block."""

    label: bytes
    start: int
    body: bytes
    text: bytes


def pem_blocks(data: bytes) -> Iterator[PemBlock]:
    """The PEM blocks of ``data`` in order, each BEGIN paired with the next END of its label
    (a BEGIN without one is passed over, a block inside a block is part of it).

    Linear: the END lines are found in one pass, not searched for again from every BEGIN
    (thousands of BEGIN lines without an END were quadratic).

    >>> [(b.label, b.body) for b in pem_blocks(b"-----BEGIN X-----\\n-----BEGIN A-----ab-----END A-----")]
    [(b'A', b'ab')]
    """
    ends: dict[bytes, list[int]] = {}
    for end in _PEM_END.finditer(data):
        ends.setdefault(end.group(1), []).append(end.start())
    consumed = 0
    for begin in _PEM_BEGIN.finditer(data):
        label = begin.group(1)
        positions = ends.get(label, ())
        body = begin.start() + len(b"-----BEGIN -----") + len(label)
        at = bisect_left(positions, body)
        if begin.start() < consumed or at == len(positions):
            continue
        stop = positions[at] + len(b"-----END -----") + len(label)
        yield PemBlock(label, begin.start(), data[body:positions[at]], data[begin.start():stop])
        consumed = stop


def _read_pem(name: str, data: bytes, options: ReadOptions, report: FileReport) -> list[dict]:
    rows: list[dict] = []
    keys: list[bytes] = []
    bad: list[CorruptInput] = []
    line, counted = 1, 0
    for number, block in enumerate(pem_blocks(data), 1):
        label = block.label
        line, counted = line + data.count(b"\n", counted, block.start), block.start
        where = f"PEM block {number} (line {line})"
        try:
            if label in _CERT_LABELS:
                rows.extend(_rows_of_certificate_block(name, where, label, block.body, report))
            elif label in _PKCS7_LABELS:
                certs = _load_pkcs7(name, where, block.text, report, der=False)
                rows.extend(_rows_of_objects(name, f"{where} PKCS#7", certs, report))
            elif label in _KEY_LABELS:
                keys.append(block.text)
            else:
                report.note(f"{where}: {label.decode()} ignored (not a certificate)")
        except CorruptInput as err:
            bad.append(err)
            report.skip_record(where, str(err.detail or err))
    if not rows:
        if bad:
            raise bad[0]
        raise UnsupportedFormat(name, "the PEM blocks", "a CERTIFICATE or PKCS7 block")
    if keys:
        _mark_private_keys(rows, keys, options, report)
    return rows


def _rows_of_certificate_block(name: str, where: str, label: bytes, body: bytes, report: FileReport) -> list[dict]:
    """The certificate of a CERTIFICATE block, or the certificates of the PKCS#7 SignedData one
    holds (AD CS web enrollment saves its ``certnew.p7b`` chain under CERTIFICATE lines)."""
    der = _pem_body(name, where, body)
    if _is_signed_data(der):
        certs = _load_pkcs7(name, f"{where} PKCS#7", der, report, der=True)
        return _rows_of_objects(name, f"{where} PKCS#7", certs, report)
    if label == b"TRUSTED CERTIFICATE":   # OpenSSL: the certificate, then trust settings
        der = der[:_der_length(der) or len(der)]
    return [_row_of_der(name, where, der, report)]


def _pem_body(name: str, where: str, body: bytes) -> bytes:
    # RFC 1421 headers (Proc-Type: ...) end at the first blank line; base64 lines follow.
    lines = [line.strip() for line in body.strip().splitlines()]
    if any(b":" in line for line in lines):
        lines = lines[lines.index(b"") + 1:] if b"" in lines else [ln for ln in lines if b":" not in ln]
    try:
        return base64.b64decode(b"".join(lines), validate=True)
    except (binascii.Error, ValueError) as err:
        raise CorruptInput(name, where, "base64 text", str(err)) from None


def _mark_private_keys(rows: list[dict], keys: list[bytes], options: ReadOptions, report: FileReport) -> None:
    spkis = set()
    for key_pem in keys:
        try:
            key = serialization.load_pem_private_key(key_pem, password=options.password)
        except (TypeError, ValueError, UnsupportedAlgorithm) as err:
            report.note(f"a private key in the file could not be opened ({err}); has_private_key left unknown")
            continue
        spkis.add(key.public_key().public_bytes(serialization.Encoding.DER,
                                                serialization.PublicFormat.SubjectPublicKeyInfo))
    if not spkis:
        return
    for row in rows:
        row["has_private_key"] = _spki(row["der"]) in spkis


def _spki(der: bytes) -> bytes | None:
    try:
        return public_key_der(x509.load_der_x509_certificate(der))
    except ValueError:
        return None


def _read_pkcs12(name: str, data: bytes, options: ReadOptions, report: FileReport) -> list[dict]:
    attempts = [options.password] if options.password is not None else [None, b""]
    loaded = None
    for password in attempts:
        try:
            loaded = _noting_warnings(report, "the PKCS#12 file", pkcs12.load_pkcs12, data, password)
            break
        except (ValueError, TypeError) as err:
            if "password" not in str(err).lower():   # it opened, but a certificate inside is damaged
                raise CorruptInput(name, "a certificate in the PKCS#12 file", "an X.509 certificate",
                                   str(err)) from None
            continue
        except UnsupportedAlgorithm as err:
            raise CorruptInput(name, "the PKCS#12 bags", "a supported encryption algorithm", str(err)) from None
    if loaded is None:
        if options.password is None:
            raise WrongPassword(name, "the PKCS#12 file", "a password (read_certs(..., password=...))",
                                "the file is protected and no password was given")
        raise WrongPassword(name, "the PKCS#12 file", "the password it was exported with",
                            "the password given does not open it (or the file is damaged)")
    key_spki = None
    if loaded.key is not None:
        key_spki = loaded.key.public_key().public_bytes(serialization.Encoding.DER,
                                                        serialization.PublicFormat.SubjectPublicKeyInfo)
    else:
        report.note("the PKCS#12 file holds no private key")
    bags = ([loaded.cert] if loaded.cert is not None else []) + list(loaded.additional_certs)
    rows = _rows_of_objects(name, "PKCS#12", [bag.certificate for bag in bags], report)
    for row, bag in zip(rows, bags):
        row["has_private_key"] = key_spki is not None and _spki(row["der"]) == key_spki
        if bag.friendly_name is not None:
            row["friendly_name"] = bag.friendly_name.decode("utf-8", errors="replace")
    return rows
