"""Get-ExchangeCertificate output for the lab, byte for byte as Windows PowerShell 5.1 writes it.

Given certificates and the facts only Exchange knows (services, status, root CA type,
friendly name, private key, server), each writer produces one shape an engineer saves:

* :func:`write_table` - the default table (``Get-ExchangeCertificate > certs.txt``);
* :func:`write_format_table` - ``| Format-Table`` of chosen columns (``-AutoSize``, ``-Wrap``), in Windows
  PowerShell 5.1 or PowerShell 7;
* :func:`write_list` - ``| fl`` or ``| fl *`` (``all_properties=True``);
* :func:`write_csv` - ``| Export-Csv`` (``#TYPE`` line, ASCII by default as in 5.1);
* :func:`write_clixml` - ``| Export-Clixml`` from a local shell or the Exchange Management Shell
  (``remote=True``: RawData and SerializationData, see :func:`serialization_data`);
* :func:`write_json` - ``| Select-Object ... | ConvertTo-Json``.

Console output redirected with ``>`` is UTF-16 LE with a BOM; every line ends in CRLF.
Local times follow ``tz`` and dates the ``culture`` (``exlab.cultures.DATE_FORMATS``).
The same inputs always give the same bytes.

>>> import io
>>> from datetime import datetime, timezone
>>> from exlab.lab.pki import LabPki
>>> cert = LabPki("doc").server("mail.contoso.com", ["mail.contoso.com"], ca="internal",
...                             not_before=datetime(2025, 3, 14, tzinfo=timezone.utc))
>>> entry = ExchangeCert(cert.certificate, services=("IMAP", "POP", "IIS", "SMTP"), root_ca_type="Enterprise")
>>> out = io.BytesIO()
>>> write_table([entry], out)
>>> print(out.getvalue().decode("utf-16").replace("\\r\\n", "\\n").strip())   # doctest: +ELLIPSIS
Thumbprint                                Services   Subject
----------                                --------   -------
...  IP.WS..    CN=mail.contoso.com
"""

from __future__ import annotations

import base64
import os
import struct
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import BinaryIO, Union
from xml.sax.saxutils import escape as xml_escape

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import ExtendedKeyUsageOID

from exlab.certs.exchange_values import (
    RIGHT_ALIGNED,
    ROOT_CA_TYPES,
    STATUSES,
    services_flags,
    services_letters,
    services_text,
    utc_to_local,
)
from exlab.certs.x509_facts import certificate_facts
from exlab.clixml import encode_string
from exlab.cultures import DATE_FORMATS, wraps_words
from exlab.lab.nrbf_writer import exchange_certificate_stream
from exlab.lab.powershell_table import table_lines
from exlab.lab.transport_logs import console_copy, enumeration, format_list

Target = Union[str, os.PathLike, BinaryIO]
_DER = Encoding.DER

TYPE_NAME = "Microsoft.Exchange.Management.SystemConfigurationTasks.ExchangeCertificate"
_TASKS = "Microsoft.Exchange.Management.SystemConfigurationTasks."
_X509_TYPES = ("System.Security.Cryptography.X509Certificates.X509Certificate2",
               "System.Security.Cryptography.X509Certificates.X509Certificate", "System.Object")
_ENUM_BASES = ("System.Enum", "System.ValueType", "System.Object")
_DOMAINS_TYPE = "System.Collections.Generic.List`1[[Microsoft.Exchange.Data.SmtpDomainWithSubdomains]]"
_ACCESS_RULE = "System.Security.AccessControl.CryptoKeyAccessRule"
_EKU_NAMES = {
    ExtendedKeyUsageOID.SERVER_AUTH.dotted_string: "Server Authentication",
    ExtendedKeyUsageOID.CLIENT_AUTH.dotted_string: "Client Authentication",
    ExtendedKeyUsageOID.CODE_SIGNING.dotted_string: "Code Signing",
    ExtendedKeyUsageOID.EMAIL_PROTECTION.dotted_string: "Secure Email",
    ExtendedKeyUsageOID.TIME_STAMPING.dotted_string: "Time Stamping",
    ExtendedKeyUsageOID.OCSP_SIGNING.dotted_string: "OCSP Signing",
}
_SIGNATURE_NAMES = {"sha1": "sha1RSA", "sha256": "sha256RSA", "sha384": "sha384RSA", "sha512": "sha512RSA",
                    "md5": "md5RSA"}
FORMAT_LIST_PROPERTIES = ("AccessRules", "CertificateDomains", "HasPrivateKey", "IsSelfSigned", "Issuer",
                          "NotAfter", "NotBefore", "PublicKeySize", "RootCAType", "SerialNumber", "Services",
                          "Status", "Subject", "Thumbprint")
# What ``| Format-List *`` adds, as Get-ExchangeCertificate's documentation lists it.
ALL_PROPERTIES = FORMAT_LIST_PROPERTIES + (
    "Archived", "CertificateRequest", "DnsNameList", "EnhancedKeyUsageList", "Extensions", "FriendlyName", "Handle",
    "Identity", "IISServices", "IssuerName", "KeyIdentifier", "PrivateKey", "PrivateKeyExportable", "PublicKey",
    "RawData", "SendAsTrustedIssuer", "ServicesStringForm", "SignatureAlgorithm", "SubjectKeyIdentifier",
    "SubjectName", "Version")
JSON_PROPERTIES = ("FriendlyName", "Thumbprint", "Subject", "Issuer", "NotBefore", "NotAfter", "Services",
                   "Status", "RootCAType", "CertificateDomains", "HasPrivateKey", "IsSelfSigned", "PublicKeySize",
                   "SerialNumber")


@dataclass(frozen=True)
class ExchangeCert:
    """One certificate as Get-ExchangeCertificate sees it on ``server`` (``server_fqdn``, when
    given, is what Identity and PSComputerName show).

    ``certificate`` is a cryptography certificate (a lab ``LabCertificate.certificate``).

    >>> from exlab.lab.pki import LabPki
    >>> entry = ExchangeCert(LabPki("doc").internal_root.certificate, root_ca_type="Enterprise")
    >>> entry.identity == "EX01\\\\" + entry.thumbprint, entry.facts["subject"]
    (True, 'CN=Contoso Root CA, DC=contoso, DC=com')
    """

    certificate: x509.Certificate
    services: tuple[str, ...] = ()
    status: str = "Valid"
    root_ca_type: str = "ThirdParty"
    friendly_name: str = ""
    has_private_key: bool = True
    server: str = "EX01"
    server_fqdn: str = ""
    facts: dict = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.status not in STATUSES or self.root_ca_type not in ROOT_CA_TYPES:
            raise ValueError(f"status must be one of {STATUSES}, root_ca_type one of {ROOT_CA_TYPES}")
        der = self.certificate.public_bytes(_DER)
        object.__setattr__(self, "facts", certificate_facts(der, self.certificate).row)

    @property
    def thumbprint(self) -> str:
        return self.facts["thumbprint"]

    @property
    def identity(self) -> str:
        """``<ServerFQDN>\\<Thumbprint>`` (the server's name when its FQDN is not given)."""
        return f"{self.server_fqdn or self.server}\\{self.thumbprint}"

    @property
    def computer_name(self) -> str:
        """What a remote shell's PSComputerName says: the server's FQDN, or its name."""
        return (self.server_fqdn or self.server).lower()

    def key_identifier(self) -> str:
        """The subject key identifier in upper hex ("" without the extension)."""
        try:
            return self.certificate.extensions.get_extension_for_class(
                x509.SubjectKeyIdentifier).value.digest.hex().upper()
        except x509.ExtensionNotFound:
            return ""

    @property
    def domains(self) -> tuple[str, ...]:
        return self.facts["dns_names"]

    def eku_list(self) -> list[str]:
        """EnhancedKeyUsageList items, ``Server Authentication (1.3.6.1.5.5.7.3.1)``."""
        try:
            usages = self.certificate.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
        except x509.ExtensionNotFound:
            return []
        return [f"{_EKU_NAMES.get(u.dotted_string, '')} ({u.dotted_string})".lstrip() for u in usages]

    def local_time(self, column: str, tz: str | None) -> datetime:
        return utc_to_local(self.facts[column], tz)


# ----------------------------------------------------------------------------- output

def _write(target: Target, text: str, encoding: str) -> None:
    """Write ``text`` as Windows PowerShell would: ``utf-16`` = UTF-16 LE with BOM (``>``,
    Out-File, Export-Clixml), ``utf-8-sig``, or ``ascii`` (Export-Csv 5.1: ``?`` for the rest)."""
    if encoding == "utf-16":
        data = b"\xff\xfe" + text.encode("utf-16-le")
    elif encoding == "ascii":
        data = text.encode("ascii", errors="replace")
    else:
        data = text.encode(encoding)
    if hasattr(target, "write"):
        target.write(data)
    else:
        Path(target).write_bytes(data)


def _handle(cert: ExchangeCert) -> str:
    """A stand-in for the certificate context's address that Handle shows (stable per certificate)."""
    return str(0x1F800000000 + int(cert.thumbprint[:8], 16) * 16)


def write_table(certs: Sequence[ExchangeCert], target: Target, *, width: int = 120,
                encoding: str = "utf-16") -> None:
    """``Get-ExchangeCertificate`` as the console shows it: Thumbprint, Services letters, Subject
    (cut with ``...`` where the line would pass ``width - 1`` characters)."""
    lines = ["", f"{'Thumbprint':<40}  {'Services':<9}  Subject", f"{'----------':<40}  {'--------':<9}  -------"]
    room = width - 1 - 53
    for cert in certs:
        subject = cert.facts["subject"]
        if len(subject) > room:
            subject = subject[:room - 3] + "..."
        lines.append(f"{cert.thumbprint:<40}  {services_letters(cert.services):<9}  {subject}")
    _write(target, "\r\n".join(lines + ["", "", ""]), encoding)


def _list_values(cert: ExchangeCert, culture: str, tz: str | None) -> dict[str, str]:
    facts = cert.facts
    der = cert.certificate.public_bytes(_DER)
    extensions = ["System.Security.Cryptography.Oid"] * len(cert.certificate.extensions)
    return {
        "AccessRules": enumeration([_ACCESS_RULE] * 3) if cert.has_private_key else "",
        "CertificateDomains": enumeration(cert.domains),
        "HasPrivateKey": str(cert.has_private_key),
        "IsSelfSigned": str(facts["is_self_signed"]),
        "Issuer": facts["issuer"],
        "NotAfter": DATE_FORMATS[culture].format(cert.local_time("not_after", tz)),
        "NotBefore": DATE_FORMATS[culture].format(cert.local_time("not_before", tz)),
        "PublicKeySize": str(facts["public_key_size"]),
        "RootCAType": cert.root_ca_type,
        "SerialNumber": facts["serial_number"],
        "Services": services_text(cert.services),
        "Status": cert.status,
        "Subject": facts["subject"],
        "Thumbprint": cert.thumbprint,
        "CertificateRequest": "",
        "IISServices": enumeration([f"IIS://{cert.server}/W3SVC/1"] if "IIS" in cert.services else []),
        "KeyIdentifier": cert.key_identifier(),
        "SendAsTrustedIssuer": "False",
        "ServicesStringForm": services_letters(cert.services),
        "SubjectKeyIdentifier": cert.key_identifier(),
        "Identity": cert.identity,
        "PrivateKeyExportable": str(cert.has_private_key),
        "DnsNameList": enumeration(cert.domains),
        "EnhancedKeyUsageList": enumeration(cert.eku_list()),
        "FriendlyName": cert.friendly_name,
        "Archived": "False",
        "Extensions": enumeration(extensions),
        "IssuerName": "System.Security.Cryptography.X509Certificates.X500DistinguishedName",
        "PrivateKey": "System.Security.Cryptography.RSACryptoServiceProvider" if cert.has_private_key else "",
        "PublicKey": "System.Security.Cryptography.X509Certificates.PublicKey",
        "RawData": enumeration([str(b) for b in der]),
        "SignatureAlgorithm": "System.Security.Cryptography.Oid",
        "SubjectName": "System.Security.Cryptography.X509Certificates.X500DistinguishedName",
        "Version": str(cert.certificate.version.value + 1),
        "Handle": _handle(cert),
    }


def write_list(certs: Sequence[ExchangeCert], target: Target, *, culture: str = "en-US", tz: str | None = None,
               all_properties: bool = False, properties: Sequence[str] | None = None, width: int = 120,
               encoding: str = "utf-16", trimmed: bool = False) -> None:
    """``Get-ExchangeCertificate | fl`` (or ``fl *`` with ``all_properties``, or ``fl Name,...``
    with ``properties``) saved with ``>`` from a console ``width`` wide: ``Name : value`` lines, names
    padded to the longest, long values wrapped onto continuation lines indented under the value (between
    words in English, French, German, Italian, Portuguese and Spanish, the space kept at the end of the
    line; at the width in the others: :func:`exlab.lab.transport_logs.format_list`), a blank line between
    certificates. ``trimmed``: as copied from the console, every line's trailing spaces gone.

    >>> import io
    >>> from exlab.lab.pki import LabPki
    >>> out = io.BytesIO()
    >>> write_list([ExchangeCert(LabPki("doc").internal_root.certificate, services=("SMTP",))], out,
    ...            culture="pl-PL", tz="Europe/Warsaw", properties=("NotBefore", "Services"))
    >>> out.getvalue().decode("utf-16").split("\\r\\n")[2:4]
    ['NotBefore : 06.01.2020 10:30:00', 'Services  : SMTP']
    """
    names = tuple(properties or (ALL_PROPERTIES if all_properties else FORMAT_LIST_PROPERTIES))
    shown = [[(name, values[name]) for name in names] for values in (_list_values(c, culture, tz) for c in certs)]
    text = format_list(shown, width=width - 1, culture=culture)
    _write(target, console_copy(text) if trimmed else text, encoding)


def write_format_table(certs: Sequence[ExchangeCert], target: Target, columns: Sequence[str], *,
                       autosize: bool = False, width: int = 120, wrap: bool = False, culture: str = "en-US",
                       tz: str | None = None, windows_powershell: bool = True, first_batch: int | None = None) -> None:
    """``Get-ExchangeCertificate | Format-Table <columns> > certs.txt`` (``-AutoSize``, ``-Wrap``) in a console
    ``width`` wide, as Windows PowerShell 5.1 (UTF-16 LE with BOM, lines padded, ``...``) or PowerShell 7
    (UTF-8, ``…``) writes it, CRLF either way (:mod:`exlab.lab.powershell_table`). Values are shown as
    ``fl`` shows them: Services ``IMAP, POP, IIS, SMTP``, lists cut after ``$FormatEnumerationLimit`` items,
    dates in ``culture`` and the local time of ``tz``.

    Without ``autosize`` the columns are sized by the certificates that reached Format-Table within its first
    300 ms: ``first_batch`` of them (all, by default: one Get-ExchangeCertificate call gives them together);
    a later certificate's longer values are cut.

    >>> import io
    >>> from exlab.lab.pki import LabPki
    >>> out = io.BytesIO()
    >>> write_format_table([ExchangeCert(LabPki("doc").internal_root.certificate, services=("IIS", "SMTP"))], out,
    ...                    ["Services", "Thumbprint"], autosize=True, windows_powershell=False)
    >>> print(out.getvalue().decode("utf-8").replace("\\r\\n", "\\n"))   # doctest: +ELLIPSIS
    <BLANKLINE>
     Services Thumbprint
     -------- ----------
    IIS, SMTP ...
    <BLANKLINE>
    """
    unknown = [name for name in columns if name not in ALL_PROPERTIES]
    if unknown:
        raise ValueError(f"not a property Get-ExchangeCertificate shows: {', '.join(unknown)}")
    rows = [[values[name] for name in columns] for values in (_list_values(cert, culture, tz) for cert in certs)]
    lines = table_lines(columns, rows, right=[name in RIGHT_ALIGNED for name in columns], width=width, wrap=wrap,
                        word_wrap=wraps_words(culture), windows_powershell=windows_powershell,
                        sized_by=None if autosize else first_batch)
    # 5.1 ends a table with two blank lines, 7 with one
    ending = ["", "", ""] if windows_powershell else ["", ""]
    _write(target, "\r\n".join(["", *lines, *ending]), "utf-16" if windows_powershell else "utf-8")


def _csv_cell(value: str) -> str:
    return '"' + value.replace('"', '""') + '"'


def write_csv(certs: Sequence[ExchangeCert], target: Target, *, culture: str = "en-US", tz: str | None = None,
              remote: bool = False, delimiter: str = ",", encoding: str = "ascii") -> None:
    """``Get-ExchangeCertificate | Export-Csv`` (``#TYPE`` line, every property quoted). Lists
    are written as their type name, enums by name, dates in ``culture``. ``remote`` writes what
    a remote Exchange Management Shell gives (Deserialized type, PSComputerName, RunspaceId).

    >>> import io
    >>> from exlab.lab.pki import LabPki
    >>> out = io.BytesIO()
    >>> write_csv([ExchangeCert(LabPki("doc").internal_root.certificate)], out, remote=True)
    >>> out.getvalue().decode("ascii").split("\\r\\n")[0]
    '#TYPE Deserialized.Microsoft.Exchange.Management.SystemConfigurationTasks.ExchangeCertificate'
    """
    names = list(ALL_PROPERTIES) + (["PSComputerName", "RunspaceId", "PSShowComputerName"] if remote else [])
    lines = [f"#TYPE {'Deserialized.' if remote else ''}{TYPE_NAME}", delimiter.join(_csv_cell(n) for n in names)]
    list_type = "System.Collections.ArrayList" if remote else None
    for cert in certs:
        values = _list_values(cert, culture, tz)
        values.update({
            "AccessRules": list_type or f"{_ACCESS_RULE}[]",
            "CertificateDomains": list_type or _DOMAINS_TYPE,
            "IISServices": list_type or "System.Collections.Generic.List`1[[System.String]]",
            "DnsNameList": list_type or "System.Collections.Generic.List`1[[System.Security.Cryptography."
                                        "X509Certificates.DnsNameRepresentation]]",
            "EnhancedKeyUsageList": list_type or "System.Collections.Generic.List`1[[System.Security."
                                                 "Cryptography.X509Certificates.EnhancedKeyUsageRepresentation]]",
            "Extensions": "System.Security.Cryptography.X509Certificates.X509ExtensionCollection",
            "RawData": "System.Byte[]",
            "PSComputerName": cert.computer_name,
            "RunspaceId": str(uuid.uuid5(uuid.NAMESPACE_DNS, cert.server)),
            "PSShowComputerName": "False",
        })
        lines.append(delimiter.join(_csv_cell(values[n]) for n in names))
    _write(target, "\r\n".join(lines) + "\r\n", encoding)


# ----------------------------------------------------------------------------- CliXml

class _CliXml:
    """Builds Export-Clixml text: two-space indents, RefIds, type names written once then TNRef."""

    def __init__(self) -> None:
        self.lines: list[str] = ['<Objs Version="1.1.0.1" xmlns="http://schemas.microsoft.com/powershell/2004/04">']
        self.obj_ids = 0
        self.type_ids: dict[tuple[str, ...], int] = {}

    def types(self, names: tuple[str, ...], depth: int) -> None:
        pad = "  " * depth
        if names in self.type_ids:
            self.lines.append(f'{pad}<TNRef RefId="{self.type_ids[names]}" />')
            return
        self.type_ids[names] = len(self.type_ids)
        self.lines.append(f'{pad}<TN RefId="{self.type_ids[names]}">')
        self.lines.extend(f"{pad}  <T>{xml_escape(n)}</T>" for n in names)
        self.lines.append(f"{pad}</TN>")

    def open_obj(self, name: str | None, names: tuple[str, ...], depth: int) -> None:
        attribute = f' N="{xml_escape(name)}"' if name else ""
        self.lines.append(f'{"  " * depth}<Obj{attribute} RefId="{self.obj_ids}">')
        self.obj_ids += 1
        self.types(names, depth + 1)

    def close_obj(self, depth: int) -> None:
        self.lines.append(f"{'  ' * depth}</Obj>")

    def prop(self, tag: str, name: str, value: str, depth: int) -> None:
        self.lines.append(f'{"  " * depth}<{tag} N="{xml_escape(name)}">{_cli_text(value)}</{tag}>')

    def enum(self, name: str, type_name: str, text: str, number: int, depth: int) -> None:
        self.open_obj(name, (type_name,) + _ENUM_BASES, depth)
        self.lines.append(f"{'  ' * (depth + 1)}<ToString>{_cli_text(text)}</ToString>")
        self.lines.append(f"{'  ' * (depth + 1)}<I32>{number}</I32>")
        self.close_obj(depth)

    def string_list(self, name: str, type_name: str, items: Sequence[str], depth: int) -> None:
        self.open_obj(name, (type_name, "System.Object"), depth)
        pad = "  " * (depth + 1)
        if items:
            self.lines.append(f"{pad}<LST>")
            self.lines.extend(f"{pad}  <S>{_cli_text(item)}</S>" for item in items)
            self.lines.append(f"{pad}</LST>")
        else:
            self.lines.append(f"{pad}<LST />")
        self.close_obj(depth)

    def text(self) -> str:
        return "\r\n".join(self.lines + ["</Objs>"])


def _cli_text(value: str) -> str:
    """XML text as Export-Clixml writes a string (``_xHHHH_`` escapes, then XML escapes)."""
    return xml_escape(encode_string(value))


def _clixml_time(cert: ExchangeCert, column: str, tz: str | None) -> str:
    local = cert.facts[column].tz_convert(tz or "UTC")
    text = local.strftime("%Y-%m-%dT%H:%M:%S%z")
    return text[:-2] + ":" + text[-2:]


def _x509_to_string(cert: ExchangeCert, culture: str, tz: str | None) -> str:
    """X509Certificate.ToString(): the object's ToString in CliXml."""
    parts = [("Subject", cert.facts["subject"]), ("Issuer", cert.facts["issuer"]),
             ("Serial Number", cert.facts["serial_number"]),
             ("Not Before", DATE_FORMATS[culture].format(cert.local_time("not_before", tz))),
             ("Not After", DATE_FORMATS[culture].format(cert.local_time("not_after", tz))),
             ("Thumbprint", cert.thumbprint)]
    return "\r\n".join(f"[{label}]\r\n  {value}\r\n" for label, value in parts) + "\r\n"


def store_element(cert: ExchangeCert) -> bytes:
    """The certificate as the Windows store serializes it (what SerializationData's CertData holds):
    ``(property id, 1, length, value)`` records, here the SHA-1 hash (3), the key container
    (2, CRYPT_KEY_PROV_INFO of a machine key, when there is a private key), the friendly name
    (11, when set), then the DER (32).

    >>> from exlab.lab.pki import LabPki
    >>> from exlab.certs.exchange_serialized import parse_store_element
    >>> entry = ExchangeCert(LabPki("doc").internal_root.certificate, friendly_name="Root")
    >>> parse_store_element(store_element(entry), "lab")[1:]
    ('Root', True)
    """
    der = cert.certificate.public_bytes(_DER)
    properties = [(3, bytes.fromhex(cert.thumbprint))]
    if cert.has_private_key:
        container = str(uuid.uuid5(uuid.NAMESPACE_OID, cert.thumbprint)) + "\0\0\0"
        properties.append((2, struct.pack("<7I", 28, 0, 12, 0x20, 0, 0, 1) + container.encode("utf-16-le")))
    if cert.friendly_name:
        properties.append((11, (cert.friendly_name + "\0").encode("utf-16-le")))
    properties.append((32, der))
    return b"".join(struct.pack("<III", prop, 1, len(value)) + value for prop, value in properties)


def serialization_data(cert: ExchangeCert) -> bytes:
    """The SerializationData a remote Exchange Management Shell carries for ``cert``: its store
    element, the enums' numbers, the IIS sites it is bound to (Default Web Site and Exchange
    Back End when IIS is among its services) and its Identity."""
    sites = (f"IIS://{cert.server}/W3SVC/1", f"IIS://{cert.server}/W3SVC/2") if "IIS" in cert.services else ()
    return exchange_certificate_stream(
        cert_data=store_element(cert), self_signed=bool(cert.facts["is_self_signed"]),
        status=STATUSES.index(cert.status), root_ca_type=ROOT_CA_TYPES.index(cert.root_ca_type),
        services=services_flags(cert.services), iis_services=sites, private_key_exportable=False,
        identity=cert.identity)


def write_clixml(certs: Sequence[ExchangeCert], target: Target, *, tz: str | None = None, remote: bool = False,
                 culture: str = "en-US") -> None:
    """``Get-ExchangeCertificate | Export-Clixml``: UTF-16 with BOM. From a local shell (the
    default): typed properties, dates with their offset, enums as ``<ToString>`` plus ``<I32>``,
    the DER as ``<BA N="RawData">``. ``remote``: what the Exchange Management Shell (always a
    remote session) writes: its ToString's dates in the invariant culture (``05/17/2022 14:56:19``,
    the server's local time), only RawData under ``<Props>``, and under ``<MS>`` PSComputerName,
    RunspaceId, PSShowComputerName and :func:`serialization_data`.

    >>> import io
    >>> from exlab.lab.pki import LabPki
    >>> out = io.BytesIO()
    >>> write_clixml([ExchangeCert(LabPki("doc").internal_root.certificate)], out, tz="Europe/Warsaw")
    >>> [line.strip() for line in out.getvalue().decode("utf-16").split("\\r\\n") if "NotBefore" in line]
    ['<DT N="NotBefore">2020-01-06T10:30:00+01:00</DT>']
    """
    xml = _CliXml()
    for cert in certs:
        xml.open_obj(None, (TYPE_NAME,) + _X509_TYPES, 1)
        shown_in = "invariant" if remote else culture   # the remote endpoint formats in the invariant culture
        xml.lines.append(f"    <ToString>{_cli_text(_x509_to_string(cert, shown_in, tz))}</ToString>")
        xml.lines.append("    <Props>")
        der = base64.b64encode(cert.certificate.public_bytes(_DER)).decode()
        if remote:
            xml.prop("BA", "RawData", der, 3)
            xml.lines.append("    </Props>")
            xml.lines.append("    <MS>")
            xml.prop("S", "PSComputerName", cert.computer_name, 3)
            xml.prop("G", "RunspaceId", str(uuid.uuid5(uuid.NAMESPACE_DNS, cert.server)), 3)
            xml.prop("B", "PSShowComputerName", "false", 3)
            xml.prop("BA", "SerializationData", base64.b64encode(serialization_data(cert)).decode(), 3)
            xml.lines.append("    </MS>")
        else:
            _local_props(xml, cert, tz, der)
            xml.lines.append("    </Props>")
        xml.close_obj(1)
    _write(target, xml.text(), "utf-16")


def _local_props(xml: _CliXml, cert: ExchangeCert, tz: str | None, der: str) -> None:
    """The typed properties a local shell writes under ``<Props>``."""
    facts = cert.facts
    xml.string_list("AccessRules", f"{_ACCESS_RULE}[]", [_ACCESS_RULE] * 3 if cert.has_private_key else [], 3)
    xml.string_list("CertificateDomains", _DOMAINS_TYPE, list(cert.domains), 3)
    xml.prop("B", "HasPrivateKey", str(cert.has_private_key).lower(), 3)
    xml.prop("B", "IsSelfSigned", str(facts["is_self_signed"]).lower(), 3)
    xml.prop("S", "Issuer", facts["issuer"], 3)
    xml.prop("DT", "NotAfter", _clixml_time(cert, "not_after", tz), 3)
    xml.prop("DT", "NotBefore", _clixml_time(cert, "not_before", tz), 3)
    xml.prop("I32", "PublicKeySize", str(facts["public_key_size"]), 3)
    xml.enum("RootCAType", _TASKS + "CertificateAuthorityType", cert.root_ca_type,
             ROOT_CA_TYPES.index(cert.root_ca_type), 3)
    xml.prop("S", "SerialNumber", facts["serial_number"], 3)
    xml.enum("Services", _TASKS + "ExchangeCertificateServices", services_text(cert.services),
             services_flags(cert.services), 3)
    xml.enum("Status", _TASKS + "CertificateStatus", cert.status, STATUSES.index(cert.status), 3)
    xml.prop("S", "Subject", facts["subject"], 3)
    xml.prop("S", "Thumbprint", cert.thumbprint, 3)
    xml.prop("S", "Identity", cert.identity, 3)
    xml.prop("S", "FriendlyName", cert.friendly_name, 3)
    xml.prop("BA", "RawData", der, 3)
    xml.prop("I32", "Version", str(cert.certificate.version.value + 1), 3)


# ----------------------------------------------------------------------------- JSON

def _json_string(value: str) -> str:
    """A JSON string as JavaScriptSerializer (Windows PowerShell 5.1) escapes it."""
    out = []
    for c in value:
        if c in '"\\':
            out.append("\\" + c)
        elif c in "<>&'" or ord(c) < 0x20:
            out.append({"\n": "\\n", "\r": "\\r", "\t": "\\t", "\b": "\\b", "\f": "\\f"}.get(c, f"\\u{ord(c):04x}"))
        else:
            out.append(c)
    return '"' + "".join(out) + '"'


def _json_value(value, column: int) -> str:
    """5.1's layout: ``"Name":  value``, nested items indented 4 past their opening bracket."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return _json_string(value)
    if isinstance(value, _JsonDate):
        return f'"\\/Date({value.ms})\\/"'
    inner = " " * (column + 4)
    if isinstance(value, dict):
        items = [f"{inner}{_json_string(k)}:  " + _json_value(v, column + 4 + len(_json_string(k)) + 3)
                 for k, v in value.items()]
        return "{\r\n" + ",\r\n".join(items) + "\r\n" + " " * column + "}"
    items = [inner + _json_value(v, column + 4) for v in value]
    return "[\r\n" + ",\r\n".join(items) + "\r\n" + " " * column + "]"


@dataclass(frozen=True)
class _JsonDate:
    ms: int


def write_json(certs: Sequence[ExchangeCert], target: Target, *, services_as_text: bool = False,
               raw_data: bool = False, encoding: str = "utf-16") -> None:
    """``Get-ExchangeCertificate | Select-Object FriendlyName,Thumbprint,... | ConvertTo-Json``
    as Windows PowerShell 5.1 writes it: ``"\\/Date(ms)\\/"`` dates, enums as numbers (names when
    ``services_as_text``: ``@{n='Services';e={$_.Services.ToString()}}``), one object without an
    array around it, ``raw_data`` adds the DER as an array of byte values.

    >>> import io
    >>> from exlab.lab.pki import LabPki
    >>> out = io.BytesIO()
    >>> write_json([ExchangeCert(LabPki("doc").internal_root.certificate, services=("IIS", "SMTP"))], out)
    >>> [line.strip() for line in out.getvalue().decode("utf-16").split("\\r\\n") if "Services" in line]
    ['"Services":  24,']
    """
    objects = []
    for cert in certs:
        facts = cert.facts
        values = {
            "FriendlyName": cert.friendly_name, "Thumbprint": cert.thumbprint, "Subject": facts["subject"],
            "Issuer": facts["issuer"],
            "NotBefore": _JsonDate(int(facts["not_before"].timestamp() * 1000)),
            "NotAfter": _JsonDate(int(facts["not_after"].timestamp() * 1000)),
            "Services": services_text(cert.services) if services_as_text else services_flags(cert.services),
            "Status": STATUSES.index(cert.status), "RootCAType": ROOT_CA_TYPES.index(cert.root_ca_type),
            "CertificateDomains": list(cert.domains), "HasPrivateKey": cert.has_private_key,
            "IsSelfSigned": bool(facts["is_self_signed"]), "PublicKeySize": int(facts["public_key_size"]),
            "SerialNumber": facts["serial_number"],
        }
        if raw_data:
            values["RawData"] = list(cert.certificate.public_bytes(_DER))
        objects.append(values)
    body = _json_value(objects[0] if len(objects) == 1 else objects, 0)
    _write(target, body + "\r\n", encoding)


WRITERS: dict[str, Callable[..., None]] = {
    "table": write_table, "list": write_list, "csv": write_csv, "clixml": write_clixml, "json": write_json,
}
