"""What one X.509 certificate says, in the words Windows and Exchange use.

:func:`certificate_facts` turns DER bytes into a certificates-frame row: the thumbprint
(SHA-1 of the DER), subject and issuer as Windows prints them (most specific RDN first,
``, `` between RDNs, Windows' attribute names such as ``S=`` and ``E=``, values with
special characters in double quotes), the names the certificate covers, its dates,
serial number as Windows shows it, key size, signature hash, whether it allows
server authentication, and whether it is self-signed (:func:`exlab.certs.signatures.self_signed`,
whatever the hash; when its signature algorithm cannot be verified here the names decide,
the row's ``_undetermined`` says so, and an export's IsSelfSigned takes precedence in the merge).

>>> from cryptography import x509
>>> from cryptography.x509.oid import NameOID
>>> windows_name(x509.Name([x509.NameAttribute(NameOID.DOMAIN_COMPONENT, "com"),
...     x509.NameAttribute(NameOID.DOMAIN_COMPONENT, "contoso"),
...     x509.NameAttribute(NameOID.COMMON_NAME, "Contoso Issuing CA 01")]))
'CN=Contoso Issuing CA 01, DC=contoso, DC=com'
>>> windows_name(x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Contoso, Ltd"),
...     x509.NameAttribute(NameOID.STATE_OR_PROVINCE_NAME, "Mazowieckie")]))
'S=Mazowieckie, O="Contoso, Ltd"'
>>> windows_serial(0x00A1), windows_serial(5)
('00A1', '05')
"""

from __future__ import annotations

import hashlib
import re
import warnings
from dataclasses import dataclass, field

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives.asymmetric import ed448, ed25519
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from exlab.certs.extensions import EXTENSION_ERRORS
from exlab.certs.schema import utc_timestamp
from exlab.certs.signatures import public_key, self_signed, signature_hash

# The attribute names Windows' CertNameToStr (X500 form) writes; others become OID.<dotted>.
WINDOWS_NAME_KEYS: dict[str, str] = {
    NameOID.COMMON_NAME.dotted_string: "CN",
    NameOID.LOCALITY_NAME.dotted_string: "L",
    NameOID.ORGANIZATION_NAME.dotted_string: "O",
    NameOID.ORGANIZATIONAL_UNIT_NAME.dotted_string: "OU",
    NameOID.EMAIL_ADDRESS.dotted_string: "E",
    NameOID.COUNTRY_NAME.dotted_string: "C",
    NameOID.STATE_OR_PROVINCE_NAME.dotted_string: "S",
    NameOID.STREET_ADDRESS.dotted_string: "STREET",
    NameOID.TITLE.dotted_string: "T",
    NameOID.GIVEN_NAME.dotted_string: "G",
    NameOID.INITIALS.dotted_string: "I",
    NameOID.SURNAME.dotted_string: "SN",
    NameOID.DOMAIN_COMPONENT.dotted_string: "DC",
    NameOID.SERIAL_NUMBER.dotted_string: "SERIALNUMBER",
    NameOID.POSTAL_CODE.dotted_string: "PostalCode",
    NameOID.DN_QUALIFIER.dotted_string: "dnQualifier",
    "2.5.4.13": "Description",
    "2.5.4.18": "POBox",
    "2.5.4.20": "Phone",
}
_NEEDS_QUOTES = re.compile(r'[,+="\n<>#;]')
_DNS_LIKE = re.compile(r"^(\*\.)?[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?(\.[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?)*\.?$")


def windows_value(value: str | bytes) -> str:
    '''One RDN value as Windows writes it: quoted (``"`` doubled) when it holds special characters.

    >>> print(windows_value('Contoso "Mail"'), windows_value("mail.contoso.com"))
    "Contoso ""Mail""" mail.contoso.com
    '''
    if isinstance(value, bytes):
        return "#" + value.hex().upper()
    if value == "" or value != value.strip() or _NEEDS_QUOTES.search(value):
        return '"' + value.replace('"', '""') + '"'
    return value


def windows_name(name: x509.Name) -> str:
    """An X.509 name as Windows prints Subject / Issuer (most specific RDN first)."""
    rdns = []
    for rdn in reversed(list(name.rdns)):
        parts = [f"{WINDOWS_NAME_KEYS.get(a.oid.dotted_string, 'OID.' + a.oid.dotted_string)}="
                 f"{windows_value(a.value)}" for a in rdn]
        rdns.append(" + ".join(parts))
    return ", ".join(rdns)


def windows_serial(number: int) -> str:
    """The serial number as Windows shows it: the DER INTEGER's bytes in upper hex."""
    length = ((number if number >= 0 else ~number).bit_length() + 8) // 8
    return number.to_bytes(length, "big", signed=True).hex().upper()


def thumbprint_of(der: bytes) -> str:
    """SHA-1 of the DER, 40 upper-case hex digits: the thumbprint Windows shows.

    >>> thumbprint_of(b"")
    'DA39A3EE5E6B4B0D3255BFEF95601890AFD80709'
    """
    return hashlib.sha1(der).hexdigest().upper()


def dns_like(name: str) -> bool:
    """Whether a common name looks like a host name (so it counts among ``dns_names``).

    >>> dns_like("mail.contoso.com"), dns_like("*.contoso.com"), dns_like("Contoso Issuing CA 01")
    (True, True, False)
    """
    return bool(_DNS_LIKE.match(name.lower()))


def unique_names(names: list[str]) -> tuple[str, ...]:
    """Lower-cased names, first occurrence kept, empty ones dropped.

    >>> unique_names(["Mail.Contoso.com", "mail.contoso.com", "", "autodiscover.contoso.com"])
    ('mail.contoso.com', 'autodiscover.contoso.com')
    """
    seen: dict[str, None] = {}
    for name in names:
        if name and name.strip():
            seen.setdefault(name.strip().lower(), None)
    return tuple(seen)


def subject_common_names(subject: str) -> list[str]:
    """The CN values of a subject string as Windows prints it (quotes removed).

    >>> subject_common_names('CN=mail.contoso.com, O="Contoso, Ltd", C=PL')
    ['mail.contoso.com']
    """
    names = []
    for match in re.finditer(r'(?:^|[,+]\s*)CN=("(?:[^"]|"")*"|[^,+]*)', subject):
        value = match.group(1).strip()
        if value.startswith('"') and value.endswith('"') and len(value) >= 2:
            value = value[1:-1].replace('""', '"')
        names.append(value)
    return names


@dataclass
class Facts:
    """A row of X.509 facts and the notes made while reading them (non-fatal problems).

    >>> Facts({"thumbprint": "AB" * 20}).notes
    []
    """

    row: dict
    notes: list[str] = field(default_factory=list)


def certificate_facts(der: bytes, cert: x509.Certificate | None = None) -> Facts:
    """The certificates-frame columns one certificate's DER provides.

    Raises ``ValueError`` when the certificate cannot be read at all (its name or dates are
    damaged); damaged extensions only leave their columns NA and add a note.

    >>> from exlab.certs.x509_facts import certificate_facts  # see tests/certs for real certificates
    >>> certificate_facts(b"0")
    Traceback (most recent call last):
    ...
    ValueError: not a DER certificate: ...
    """
    try:
        with warnings.catch_warnings(record=True) as caught:   # e.g. a negative serial number
            warnings.simplefilter("always")
            cert = cert if cert is not None else x509.load_der_x509_certificate(der)
            subject = windows_name(cert.subject)
            issuer = windows_name(cert.issuer)
            not_before, not_after = cert.not_valid_before_utc, cert.not_valid_after_utc
            serial = windows_serial(cert.serial_number)
    except (ValueError, TypeError, UnsupportedAlgorithm, x509.InvalidVersion) as err:
        raise ValueError(f"not a DER certificate: {err}") from err
    facts = Facts({
        "thumbprint": thumbprint_of(der),
        "subject": subject,
        "issuer": issuer,
        "serial_number": serial,
        "der": bytes(der),
    }, notes=list(dict.fromkeys(str(w.message) for w in caught)))
    for column, value in (("not_before", not_before), ("not_after", not_after)):
        stamp = utc_timestamp(value)
        if stamp is None:
            facts.notes.append(f"{column} {value.isoformat()} is beyond the frame's time range; left NaT")
        facts.row[column] = stamp
    facts.row["dns_names"] = _dns_names(cert, facts.notes)
    check = self_signed(cert)
    facts.row["is_self_signed"] = check.value
    if check.guessed:   # an export's IsSelfSigned decides (see merge)
        facts.row["_undetermined"] = frozenset({"is_self_signed"})
        facts.notes.append(f"self-signed judged without its signature: {check.basis}")
    facts.row["public_key_size"] = _public_key_size(cert)
    facts.row["signature_hash"] = signature_hash(cert)
    facts.row["server_auth"] = _server_auth(cert, facts.notes)
    return facts


def _dns_names(cert: x509.Certificate, notes: list[str]) -> tuple[str, ...]:
    names = [a.value for a in cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
             if isinstance(a.value, str) and dns_like(a.value)]
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        names.extend(san.get_values_for_type(x509.DNSName))
    except x509.ExtensionNotFound:
        pass
    except EXTENSION_ERRORS as err:
        notes.append(f"subject alternative names unreadable ({err}); dns_names from the CN only")
    return unique_names(names)


def _public_key_size(cert: x509.Certificate) -> int | None:
    key = public_key(cert)
    if key is None:
        return None
    if isinstance(key, (ed25519.Ed25519PublicKey, ed448.Ed448PublicKey)):
        return None   # Windows reports no size for EdDSA keys
    size = getattr(key, "key_size", None)
    if size is None and hasattr(key, "curve"):
        size = key.curve.key_size
    return size


def _server_auth(cert: x509.Certificate, notes: list[str]) -> bool | None:
    try:
        usages = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    except x509.ExtensionNotFound:
        return True
    except EXTENSION_ERRORS as err:
        notes.append(f"extensions unreadable ({err}); server_auth unknown")
        return None
    return ExtendedKeyUsageOID.SERVER_AUTH in usages or ExtendedKeyUsageOID.ANY_EXTENDED_KEY_USAGE in usages
