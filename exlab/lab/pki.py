"""The lab PKI: real, deterministic X.509 certificates for synthetic Exchange evidence.

Two certification hierarchies stand behind the KB 2888788 story:

* an internal enterprise CA, as Active Directory Certificate Services builds it
  (``CN=Contoso Root CA, DC=contoso, DC=com`` and ``CN=Contoso Issuing CA 01, ...``),
  with LDAP and HTTP CRL distribution points and authority information access;
* a stand-in for a CA of Microsoft's root program (``CN=exlab Lab Public Root CA,
  O=exlab lab, C=US``): clearly a lab CA, trusted only when the engineer passes its root
  with ``--roots`` (see :func:`roots_pem`). Evidence never declares its own trust anchors.

Server certificates carry CN and SAN and the serverAuth EKU; :meth:`LabPki.exchange_self_signed`
and :meth:`LabPki.exchange_auth` make the two self-signed certificates Exchange setup creates,
signed with sha1WithRSAEncryption and without key identifiers like the real ones. cryptography
no longer signs certificates with SHA-1 or MD5, so :func:`legacy_signed` signs the
TBSCertificate itself and assembles the DER.

Everything is deterministic: the same seed and dates give byte-identical certificates.
cryptography cannot seed RSA key generation, so :func:`lab_rsa_key` derives the primes
from a hash-based generator keyed by the seed (2048-bit like real servers, cached in
memory), and RSA PKCS#1 v1.5 signatures are deterministic. PKCS#12 (.pfx) files are the
exception: their encryption uses random salts, so :func:`pfx_bytes` differs from run to run
while the certificates and keys inside it do not.

>>> from datetime import datetime, timezone
>>> pki = LabPki("doc")
>>> cert = pki.server("mail.contoso.com", ["mail.contoso.com", "autodiscover.contoso.com"],
...                   ca="internal", not_before=datetime(2025, 3, 14, tzinfo=timezone.utc))
>>> cert.subject, cert.issuer
('CN=mail.contoso.com', 'CN=Contoso Issuing CA 01, DC=contoso, DC=com')
>>> LabPki("doc").server("mail.contoso.com", ["mail.contoso.com", "autodiscover.contoso.com"],
...     ca="internal", not_before=datetime(2025, 3, 14, tzinfo=timezone.utc)).der == cert.der
True
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from functools import cached_property, lru_cache
from typing import Literal

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import dsa, ec, padding, rsa
from cryptography.hazmat.primitives.serialization import pkcs7, pkcs12
from cryptography.x509.oid import AuthorityInformationAccessOID, ExtendedKeyUsageOID, NameOID

from exlab.certs.signatures import DSA_PRIVATE_KEY
from exlab.certs.x509_facts import windows_name

__all__ = [
    "LabCertificate",
    "LabPki",
    "cer_bytes",
    "lab_rsa_key",
    "legacy_signed",
    "p7b_bytes",
    "pfx_bytes",
    "relabel_signature",
    "roots_pem",
]

PUBLIC_EXPONENT = 65537
KEY_SIZE = 2048
ROOT_YEARS = 20
ISSUING_YEARS = 10
SERVER_YEARS = 2
EXCHANGE_SELF_SIGNED_YEARS = 5   # what New-ExchangeCertificate / setup give a self-signed certificate
AUTH_CERTIFICATE_SUBJECT = "Microsoft Exchange Server Auth Certificate"

# Microsoft's private extensions that AD CS writes (CA version, certificate template name)
_MS_CA_VERSION = x509.ObjectIdentifier("1.3.6.1.4.1.311.21.1")
_MS_CERT_TYPE = x509.ObjectIdentifier("1.3.6.1.4.1.311.20.2")
_CABF_ORGANIZATION_VALIDATED = x509.ObjectIdentifier("2.23.140.1.2.2")
_PUBLIC_CA_HOST = "lab-public.exlab.test"   # RFC 2606 reserved name: nothing real answers there

# DER AlgorithmIdentifiers of the signature algorithms cryptography no longer signs with.
LEGACY_ALGORITHMS: dict[str, bytes] = {
    "sha1WithRSAEncryption": bytes.fromhex("300d06092a864886f70d0101050500"),
    "md5WithRSAEncryption": bytes.fromhex("300d06092a864886f70d0101040500"),
    "md2WithRSAEncryption": bytes.fromhex("300d06092a864886f70d0101020500"),
    "ecdsa-with-SHA1": bytes.fromhex("300906072a8648ce3d0401"),
    "dsa-with-sha1": bytes.fromhex("300906072a8648ce380403"),
}
_LEGACY_HASHES = {"sha1": hashes.SHA1, "md5": hashes.MD5}
SignatureHash = Literal["sha256", "sha1", "md5"]

_SMALL_PRIMES = tuple(n for n in range(3, 10_000) if all(n % d for d in range(2, math.isqrt(n) + 1)))
_SIEVE_WINDOW = 1 << 13   # odd candidates per window; prime gaps near 2**1024 average ~710


# ----------------------------------------------------------------------------- keys

class _Stream:
    """A deterministic byte stream: SHA-256 in counter mode over the seed and a label."""

    def __init__(self, *parts: object) -> None:
        self._key = hashlib.sha256("\x1f".join(str(p) for p in parts).encode("utf-8")).digest()
        self._counter = 0

    def read(self, size: int) -> bytes:
        out = bytearray()
        while len(out) < size:
            out += hashlib.sha256(self._key + self._counter.to_bytes(8, "big")).digest()
            self._counter += 1
        return bytes(out[:size])

    def integer(self, bits: int) -> int:
        return int.from_bytes(self.read((bits + 7) // 8), "big") >> (-bits % 8)


def _probable_prime(n: int, stream: _Stream, rounds: int = 5) -> bool:
    """Miller-Rabin with seeded bases; 5 rounds suffice for 1024-bit candidates (FIPS 186-5, B.3)."""
    d, s = n - 1, 0
    while d % 2 == 0:
        d, s = d // 2, s + 1
    for _ in range(rounds):
        x = pow(2 + stream.integer(n.bit_length()) % (n - 3), d, n)
        if x in (1, n - 1):
            continue
        for _ in range(s - 1):
            x = pow(x, 2, n)
            if x == n - 1:
                break
        else:
            return False
    return True


def _prime(bits: int, stream: _Stream) -> int:
    """The first probable prime p >= a seeded start, with the top two bits set and gcd(e, p-1) = 1.

    A sieve over a window of odd candidates strikes out multiples of the small primes, so
    only candidates without a small factor reach Miller-Rabin.
    """
    while True:
        start = stream.integer(bits) | (0b11 << (bits - 2)) | 1
        alive = bytearray(b"\x01") * _SIEVE_WINDOW          # alive[i]: start + 2i has no small factor
        for p in _SMALL_PRIMES:
            first = (-start * ((p + 1) // 2)) % p   # (p + 1) / 2 is the inverse of 2 mod p
            alive[first::p] = bytes(len(range(first, _SIEVE_WINDOW, p)))
        for i in (i for i, flag in enumerate(alive) if flag):
            candidate = start + 2 * i
            if candidate.bit_length() > bits:
                break
            if math.gcd(PUBLIC_EXPONENT, candidate - 1) == 1 and _probable_prime(candidate, stream):
                return candidate


@lru_cache(maxsize=256)
def lab_rsa_key(seed: str, label: str, bits: int = KEY_SIZE) -> rsa.RSAPrivateKey:
    """An RSA key derived from ``seed`` and ``label``: the same arguments give the same key.

    For lab evidence only (the seed is the whole secret). Keys are cached in memory.

    >>> key = lab_rsa_key("doc", "example")
    >>> key.key_size, key.private_numbers() == lab_rsa_key("doc", "example").private_numbers()
    (2048, True)
    """
    stream = _Stream("exlab-lab-rsa", seed, label, bits)
    while True:
        p = _prime(bits // 2, stream)
        q = _prime(bits - bits // 2, stream)
        if p != q and (p * q).bit_length() == bits:
            break
    p, q = max(p, q), min(p, q)
    d = pow(PUBLIC_EXPONENT, -1, math.lcm(p - 1, q - 1))
    numbers = rsa.RSAPrivateNumbers(
        p=p, q=q, d=d,
        dmp1=rsa.rsa_crt_dmp1(d, p), dmq1=rsa.rsa_crt_dmq1(d, q), iqmp=rsa.rsa_crt_iqmp(p, q),
        public_numbers=rsa.RSAPublicNumbers(PUBLIC_EXPONENT, p * q),
    )
    return numbers.private_key()


# ----------------------------------------------------------------------------- certificates

@dataclass(frozen=True, eq=False)
class LabCertificate:
    """A lab certificate with its private key and the lab certificate that issued it.

    ``issued_by`` is None for self-signed certificates (roots included).

    >>> root = LabPki("doc").internal_root
    >>> root.subject, root.issued_by is None, len(root.thumbprint)
    ('CN=Contoso Root CA, DC=contoso, DC=com', True, 40)
    """

    certificate: x509.Certificate
    key: rsa.RSAPrivateKey
    issued_by: LabCertificate | None = None

    @property
    def der(self) -> bytes:
        """The certificate in DER, as a .cer file holds it."""
        return self.certificate.public_bytes(serialization.Encoding.DER)

    @property
    def pem(self) -> bytes:
        """The certificate in PEM (Base64 .cer)."""
        return self.certificate.public_bytes(serialization.Encoding.PEM)

    @property
    def thumbprint(self) -> str:
        """SHA-1 of the DER in upper-case hex, as Windows and Exchange show it."""
        return self.certificate.fingerprint(hashes.SHA1()).hex().upper()  # noqa: S303 - Windows' thumbprint

    @property
    def subject(self) -> str:
        """The subject as Windows shows it (RFC 4514, ``, ``-separated, most significant last)."""
        return windows_name(self.certificate.subject)

    @property
    def issuer(self) -> str:
        """The issuer as Windows shows it."""
        return windows_name(self.certificate.issuer)

    @property
    def chain(self) -> tuple[LabCertificate, ...]:
        """This certificate and its issuers up to the root, leaf first."""
        links: list[LabCertificate] = [self]
        while links[-1].issued_by is not None:
            links.append(links[-1].issued_by)
        return tuple(links)


def _utc(moment: datetime) -> datetime:
    """Aware UTC without microseconds (X.509 times hold whole seconds); naive times are UTC."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc).replace(microsecond=0)


def _add_years(moment: datetime, years: int) -> datetime:
    try:
        return moment.replace(year=moment.year + years)
    except ValueError:   # 29 February
        return moment.replace(year=moment.year + years, day=28)


def _serial(stream: _Stream, size: int) -> int:
    """A positive serial of ``size`` bytes whose top byte is non-zero (DER keeps all bytes)."""
    raw = bytearray(stream.read(size))
    raw[0] = (raw[0] & 0x7F) | 0x10
    return int.from_bytes(raw, "big")


def _cn(value: str) -> x509.NameAttribute:
    return x509.NameAttribute(NameOID.COMMON_NAME, value)


class LabPki:
    """The lab's two hierarchies and the server certificates they issue, all from one seed.

    ``domain`` gives the enterprise CA's DC components, ``organization`` its CA names.
    CAs are valid from ``ca_not_before`` for 20 years (roots) and 10 years (issuing CAs).

    >>> pki = LabPki("doc")
    >>> pki.internal_ca.issuer, pki.public_ca.issuer
    ('CN=Contoso Root CA, DC=contoso, DC=com', 'CN=exlab Lab Public Root CA, O=exlab lab, C=US')
    """

    def __init__(self, seed: str | int = "exlab", *, domain: str = "contoso.com", organization: str = "Contoso",
                 ca_host: str = "CA01",
                 ca_not_before: datetime = datetime(2020, 1, 6, 9, 30, tzinfo=timezone.utc),
                 key_size: int = KEY_SIZE) -> None:
        self.seed = str(seed)
        self.domain = domain.lower().strip(".")
        self.organization = organization
        self.ca_host = ca_host
        self.ca_not_before = _utc(ca_not_before)
        self.key_size = key_size

    # -- helpers

    def _key(self, label: str) -> rsa.RSAPrivateKey:
        return lab_rsa_key(self.seed, label, self.key_size)

    def _dc(self) -> list[x509.NameAttribute]:
        return [x509.NameAttribute(NameOID.DOMAIN_COMPONENT, part) for part in reversed(self.domain.split("."))]

    def _ldap_dn(self) -> str:
        return ",".join(f"DC={part}" for part in self.domain.split("."))

    def _internal_urls(self, ca_name: str) -> tuple[x509.Extension, x509.Extension]:
        """AD CS style CDP and AIA pointing at the forest's LDAP and the CA's web server."""
        services = f"CN=Public Key Services,CN=Services,CN=Configuration,{self._ldap_dn()}"
        http = f"http://pki.{self.domain}/CertEnroll/{ca_name.replace(' ', '%20')}"
        cdp = x509.CRLDistributionPoints([x509.DistributionPoint(
            full_name=[
                x509.UniformResourceIdentifier(
                    f"ldap:///CN={ca_name},CN={self.ca_host},CN=CDP,{services}"
                    "?certificateRevocationList?base?objectClass=cRLDistributionPoint"),
                x509.UniformResourceIdentifier(f"{http}.crl"),
            ],
            relative_name=None, reasons=None, crl_issuer=None)])
        aia = x509.AuthorityInformationAccess([
            x509.AccessDescription(AuthorityInformationAccessOID.CA_ISSUERS, x509.UniformResourceIdentifier(
                f"ldap:///CN={ca_name},CN=AIA,{services}?cACertificate?base?objectClass=certificationAuthority")),
            x509.AccessDescription(AuthorityInformationAccessOID.CA_ISSUERS,
                                   x509.UniformResourceIdentifier(f"{http}.crt")),
        ])
        return x509.Extension(cdp.oid, False, cdp), x509.Extension(aia.oid, False, aia)

    def _public_urls(self, ca_slug: str) -> tuple[x509.Extension, x509.Extension]:
        cdp = x509.CRLDistributionPoints([x509.DistributionPoint(
            full_name=[x509.UniformResourceIdentifier(f"http://crl.{_PUBLIC_CA_HOST}/{ca_slug}.crl")],
            relative_name=None, reasons=None, crl_issuer=None)])
        aia = x509.AuthorityInformationAccess([
            x509.AccessDescription(AuthorityInformationAccessOID.OCSP,
                                   x509.UniformResourceIdentifier(f"http://ocsp.{_PUBLIC_CA_HOST}")),
            x509.AccessDescription(AuthorityInformationAccessOID.CA_ISSUERS,
                                   x509.UniformResourceIdentifier(f"http://cacerts.{_PUBLIC_CA_HOST}/{ca_slug}.crt")),
        ])
        return x509.Extension(cdp.oid, False, cdp), x509.Extension(aia.oid, False, aia)

    def _build(self, *, label: str, subject: x509.Name, issuer: LabCertificate | None,
               not_before: datetime, not_after: datetime, extensions: Iterable[x509.Extension],
               serial_size: int, signature_hash: SignatureHash = "sha256",
               key_identifiers: bool = True) -> LabCertificate:
        key = self._key(label)
        signer = issuer.key if issuer is not None else key
        builder = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(issuer.certificate.subject if issuer is not None else subject)
            .public_key(key.public_key())
            .serial_number(_serial(_Stream("exlab-lab-serial", self.seed, label, not_before.isoformat()),
                                   serial_size))
            .not_valid_before(_utc(not_before))
            .not_valid_after(_utc(not_after))
        )
        if key_identifiers:
            builder = builder.add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
        if key_identifiers and issuer is not None:
            builder = builder.add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer.key.public_key()), False)
        for ext in extensions:
            builder = builder.add_extension(ext.value, ext.critical)
        certificate = builder.sign(signer, hashes.SHA256())
        if signature_hash != "sha256":
            certificate = legacy_signed(certificate, signer, signature_hash)
        return LabCertificate(certificate, key, issuer)

    # -- certification authorities

    @cached_property
    def internal_root(self) -> LabCertificate:
        """The enterprise root CA (AD CS standalone root, offline)."""
        return self._ca(label="internal-root", cn=f"{self.organization} Root CA", issuer=None,
                        internal=True, years=ROOT_YEARS)

    @cached_property
    def internal_ca(self) -> LabCertificate:
        """The enterprise issuing CA, signed by :attr:`internal_root`."""
        return self._ca(label="internal-issuing", cn=f"{self.organization} Issuing CA 01", issuer=self.internal_root,
                        internal=True, years=ISSUING_YEARS)

    @cached_property
    def public_root(self) -> LabCertificate:
        """The lab's stand-in for a root of Microsoft's root program."""
        return self._ca(label="public-root", cn="exlab Lab Public Root CA", issuer=None, internal=False,
                        years=ROOT_YEARS)

    @cached_property
    def public_ca(self) -> LabCertificate:
        """The lab public issuing CA, signed by :attr:`public_root`."""
        return self._ca(label="public-issuing", cn="exlab Lab Public Server CA 01", issuer=self.public_root,
                        internal=False, years=ISSUING_YEARS)

    def _ca(self, *, label: str, cn: str, issuer: LabCertificate | None, internal: bool,
            years: int) -> LabCertificate:
        if internal:
            subject = x509.Name([*self._dc(), _cn(cn)])
        else:
            subject = x509.Name([x509.NameAttribute(NameOID.COUNTRY_NAME, "US"),
                                 x509.NameAttribute(NameOID.ORGANIZATION_NAME, "exlab lab"), _cn(cn)])
        usage = x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=False,
                              data_encipherment=False, key_agreement=False, key_cert_sign=True, crl_sign=True,
                              encipher_only=False, decipher_only=False)
        extensions = [
            x509.Extension(usage.oid, True, usage),
            x509.Extension(x509.BasicConstraints.oid, True, x509.BasicConstraints(ca=True, path_length=None)),
        ]
        if internal:
            extensions.append(x509.Extension(_MS_CA_VERSION, False,
                                             x509.UnrecognizedExtension(_MS_CA_VERSION, b"\x02\x01\x00")))
        if issuer is not None:
            if internal:
                extensions.append(x509.Extension(_MS_CERT_TYPE, False,
                                                 x509.UnrecognizedExtension(_MS_CERT_TYPE, _bmp_string("SubCA"))))
                extensions.extend(self._internal_urls(issuer.certificate.subject.get_attributes_for_oid(
                    NameOID.COMMON_NAME)[0].value))
            else:
                extensions.extend(self._public_urls("root"))
        start = self.ca_not_before if issuer is None else self.ca_not_before + timedelta(hours=1)
        return self._build(label=label, subject=subject, issuer=issuer, not_before=start,
                           not_after=_add_years(start, years), extensions=extensions,
                           serial_size=16)

    # -- end-entity certificates

    def server(self, common_name: str, dns_names: Sequence[str] = (), *, ca: Literal["internal", "public"],
               not_before: datetime, not_after: datetime | None = None, label: str | None = None,
               signature_hash: SignatureHash = "sha256") -> LabCertificate:
        """A server certificate for ``common_name`` with ``dns_names`` as SAN, issued by ``ca``.

        The internal CA issues what the AD CS *Web Server* template gives (serverAuth only);
        the public one what a commercial OV certificate carries (serverAuth + clientAuth,
        policy OID, OCSP). An empty ``dns_names`` leaves out the SAN, as sloppy internal
        requests do. ``not_after`` defaults to two years after ``not_before``; ``label``
        (default: CA, names and start) picks the key, so a renewal with a new label gets a
        new key. ``signature_hash`` ``sha1`` or ``md5`` makes what CAs issued before 2016.

        >>> from datetime import datetime, timezone
        >>> cert = LabPki("doc").server("mail.contoso.com", ["mail.contoso.com"], ca="public",
        ...                             not_before=datetime(2024, 5, 1, tzinfo=timezone.utc))
        >>> cert.issuer, str(cert.certificate.not_valid_after_utc)
        ('CN=exlab Lab Public Server CA 01, O=exlab lab, C=US', '2026-05-01 00:00:00+00:00')
        """
        if ca not in ("internal", "public"):
            raise ValueError(f"ca must be 'internal' or 'public', not {ca!r}")
        not_before = _utc(not_before)
        not_after = _utc(not_after) if not_after is not None else _add_years(not_before, SERVER_YEARS)
        issuer = self.internal_ca if ca == "internal" else self.public_ca
        label = label or f"server:{ca}:{common_name}:{','.join(dns_names)}:{not_before.isoformat()}"
        usage = x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=True,
                              data_encipherment=False, key_agreement=False, key_cert_sign=False, crl_sign=False,
                              encipher_only=False, decipher_only=False)
        purposes = [ExtendedKeyUsageOID.SERVER_AUTH]
        extensions = [x509.Extension(usage.oid, True, usage)]
        if ca == "internal":
            extensions.append(x509.Extension(_MS_CERT_TYPE, False,
                                             x509.UnrecognizedExtension(_MS_CERT_TYPE, _bmp_string("WebServer"))))
            extensions.extend(self._internal_urls(_common_name(issuer.certificate)))
        else:
            purposes.append(ExtendedKeyUsageOID.CLIENT_AUTH)
            policies = x509.CertificatePolicies([x509.PolicyInformation(_CABF_ORGANIZATION_VALIDATED, None)])
            extensions.append(x509.Extension(policies.oid, False, policies))
            extensions.extend(self._public_urls("server-ca-01"))
            extensions.append(x509.Extension(x509.BasicConstraints.oid, True,
                                             x509.BasicConstraints(ca=False, path_length=None)))
        eku = x509.ExtendedKeyUsage(purposes)
        extensions.append(x509.Extension(eku.oid, False, eku))
        if dns_names:
            extensions.append(_san(dns_names))
        subject = x509.Name([_cn(common_name)]) if ca == "internal" else x509.Name([
            x509.NameAttribute(NameOID.COUNTRY_NAME, "US"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, self.organization), _cn(common_name)])
        return self._build(label=label, subject=subject, issuer=issuer, not_before=not_before, not_after=not_after,
                           extensions=extensions, serial_size=19 if ca == "internal" else 16,
                           signature_hash=signature_hash)

    def exchange_self_signed(self, hostname: str, fqdn: str, *, not_before: datetime,
                             signature_hash: SignatureHash = "sha1") -> LabCertificate:
        """The certificate Exchange setup creates: CN=<hostname>, SAN hostname and FQDN, 5 years,
        sha1WithRSAEncryption, no key identifiers (as the real ones). ``signature_hash="sha256"``
        gives the same certificate signed as self-signed certificates made by other tools are.

        >>> from datetime import datetime, timezone
        >>> cert = LabPki("doc").exchange_self_signed("EX01", "ex01.contoso.com",
        ...                                           not_before=datetime(2021, 2, 1, tzinfo=timezone.utc))
        >>> cert.subject == cert.issuer, cert.certificate.not_valid_after_utc.year
        (True, 2026)
        >>> cert.certificate.signature_algorithm_oid._name
        'sha1WithRSAEncryption'
        """
        not_before = _utc(not_before)
        return self._build(
            label=f"exchange-self-signed:{hostname}:{fqdn}:{not_before.isoformat()}",
            subject=x509.Name([_cn(hostname)]), issuer=None, not_before=not_before,
            not_after=_add_years(not_before, EXCHANGE_SELF_SIGNED_YEARS),
            extensions=_exchange_extensions(_san([hostname, fqdn])), serial_size=16,
            signature_hash=signature_hash, key_identifiers=False)

    def exchange_auth(self, *, not_before: datetime) -> LabCertificate:
        """``CN=Microsoft Exchange Server Auth Certificate``: self-signed with SHA-1, no SAN, 5 years.

        >>> from datetime import datetime, timezone
        >>> auth = LabPki("doc").exchange_auth(not_before=datetime(2021, 2, 1, tzinfo=timezone.utc))
        >>> auth.subject
        'CN=Microsoft Exchange Server Auth Certificate'
        """
        not_before = _utc(not_before)
        return self._build(
            label=f"exchange-auth:{not_before.isoformat()}", subject=x509.Name([_cn(AUTH_CERTIFICATE_SUBJECT)]),
            issuer=None, not_before=not_before, not_after=_add_years(not_before, EXCHANGE_SELF_SIGNED_YEARS),
            extensions=_exchange_extensions(None), serial_size=16, signature_hash="sha1", key_identifiers=False)


def _exchange_extensions(san: x509.Extension | None) -> list[x509.Extension]:
    """What Exchange's own certificates carry, in their order: KeyUsage (critical), the SAN,
    EKU serverAuth, BasicConstraints CA:FALSE (critical)."""
    usage = x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=True,
                          data_encipherment=False, key_agreement=False, key_cert_sign=False, crl_sign=False,
                          encipher_only=False, decipher_only=False)
    eku = x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH])
    return [x509.Extension(usage.oid, True, usage), *([san] if san else []), x509.Extension(eku.oid, False, eku),
            x509.Extension(x509.BasicConstraints.oid, True, x509.BasicConstraints(ca=False, path_length=None))]


def _common_name(cert: x509.Certificate) -> str:
    return str(cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value)


def _san(names: Iterable[str]) -> x509.Extension:
    san = x509.SubjectAlternativeName([x509.DNSName(name) for name in dict.fromkeys(names)])
    return x509.Extension(san.oid, False, san)


def _bmp_string(text: str) -> bytes:
    """DER BMPString, the type AD CS uses for the certificate template name."""
    body = text.encode("utf-16-be")
    return bytes([0x1E, len(body)]) + body


# ----------------------------------------------------------------------------- old signatures

def _der(tag: int, body: bytes) -> bytes:
    """One DER element: tag, definite length, body."""
    size = len(body)
    if size < 0x80:
        return bytes([tag, size]) + body
    length = size.to_bytes((size.bit_length() + 7) // 8, "big")
    return bytes([tag, 0x80 | len(length)]) + length + body


def _der_elements(body: bytes) -> list[bytes]:
    """The DER elements (whole, tag and length included) one after another in ``body``."""
    out, pos = [], 0
    while pos < len(body):
        first = body[pos + 1]
        if first < 0x80:
            start, size = pos + 2, first
        else:
            count = first & 0x7F
            start, size = pos + 2 + count, int.from_bytes(body[pos + 2:pos + 2 + count], "big")
        out.append(body[pos:start + size])
        pos = start + size
    return out


def relabel_signature(cert: x509.Certificate, algorithm: str, signature: bytes) -> x509.Certificate:
    """``cert`` with another signature algorithm (one of :data:`LEGACY_ALGORITHMS`) named in its
    TBSCertificate and outside it, and ``signature`` as its signature value. For certificates
    whose algorithm nothing here can compute (``md2WithRSAEncryption``); see :func:`legacy_signed`.

    >>> root = LabPki("doc").internal_root.certificate
    >>> relabel_signature(root, "md2WithRSAEncryption", root.signature).signature_algorithm_oid.dotted_string
    '1.2.840.113549.1.1.2'
    """
    identifier = LEGACY_ALGORITHMS[algorithm]
    return _assemble(_relabelled_tbs(cert, identifier), identifier, signature)


def _relabelled_tbs(cert: x509.Certificate, identifier: bytes) -> bytes:
    """The TBSCertificate with its signature AlgorithmIdentifier (after version and serial) replaced."""
    tbs = cert.tbs_certificate_bytes
    fields = _der_elements(tbs[_header_size(tbs):])
    fields[2 if fields[0][0] == 0xA0 else 1] = identifier   # [0] version is optional
    return _der(0x30, b"".join(fields))


def _assemble(tbs: bytes, identifier: bytes, signature: bytes) -> x509.Certificate:
    """Certificate ::= SEQUENCE { tbsCertificate, signatureAlgorithm, signatureValue BIT STRING }."""
    return x509.load_der_x509_certificate(_der(0x30, tbs + identifier + _der(0x03, b"\x00" + signature)))


def legacy_signed(cert: x509.Certificate, key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey | dsa.DSAPrivateKey,
                  hash_name: str) -> x509.Certificate:
    """``cert`` signed again by ``key`` with SHA-1 or MD5 (RSA PKCS#1 v1.5; ECDSA and DSA with SHA-1),
    as CAs and Exchange setup signed before SHA-2. RSA signatures are deterministic, so the same
    inputs give the same bytes.

    >>> pki = LabPki("doc")
    >>> old = legacy_signed(pki.internal_ca.certificate, pki.internal_root.key, "sha1")
    >>> old.signature_algorithm_oid._name, old.subject == pki.internal_ca.certificate.subject
    ('sha1WithRSAEncryption', True)
    """
    algorithm = _LEGACY_HASHES[hash_name]()
    if isinstance(key, rsa.RSAPrivateKey):
        name = f"{hash_name}WithRSAEncryption"
    elif isinstance(key, ec.EllipticCurvePrivateKey) and hash_name == "sha1":
        name = "ecdsa-with-SHA1"
    elif isinstance(key, DSA_PRIVATE_KEY) and hash_name == "sha1":
        name = "dsa-with-sha1"
    else:
        raise ValueError(f"no {hash_name} signature for a {type(key).__name__}")
    identifier = LEGACY_ALGORITHMS[name]
    tbs = _relabelled_tbs(cert, identifier)
    if isinstance(key, rsa.RSAPrivateKey):
        signature = key.sign(tbs, padding.PKCS1v15(), algorithm)
    elif isinstance(key, ec.EllipticCurvePrivateKey):
        signature = key.sign(tbs, ec.ECDSA(algorithm))
    else:
        signature = key.sign(tbs, algorithm)
    return _assemble(tbs, identifier, signature)


def extension_der(oid: x509.ObjectIdentifier, value: bytes, *, critical: bool = False) -> bytes:
    """One Extension ``SEQUENCE { extnID, critical, extnValue OCTET STRING }`` with ``value`` as
    written, for :func:`with_raw_extensions`.

    >>> extension_der(x509.ObjectIdentifier("2.5.29.18"), bytes.fromhex("3002a300")).hex()
    '300b0603551d1204043002a300'
    """
    arcs = [int(arc) for arc in oid.dotted_string.split(".")]
    encoded = bytearray()
    for arc in [arcs[0] * 40 + arcs[1], *arcs[2:]]:
        digits = [arc & 0x7F]
        while arc > 0x7F:
            arc >>= 7
            digits.append(0x80 | (arc & 0x7F))
        encoded += bytes(reversed(digits))
    flag = _der(0x01, b"\xff") if critical else b""
    return _der(0x30, _der(0x06, bytes(encoded)) + flag + _der(0x04, value))


def with_raw_extensions(cert: LabCertificate, extensions: Sequence[bytes]) -> x509.Certificate:
    """``cert`` with ``extensions`` (whole Extension elements, see :func:`extension_der`) added
    after its own and signed again by its issuer (SHA-256): what cryptography cannot build and
    a broken or hostile CA can, such as an extension written twice or a name of a type
    cryptography does not read (an x400Address).

    >>> server = LabPki("doc").server("mail.contoso.com", ["mail.contoso.com"], ca="internal",
    ...                               not_before=datetime(2025, 3, 14, tzinfo=timezone.utc))
    >>> san = server.certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    >>> twice = with_raw_extensions(server, [extension_der(san.oid, san.value.public_bytes())])
    >>> twice.extensions
    Traceback (most recent call last):
    cryptography.x509.extensions.DuplicateExtension: Duplicate 2.5.29.17 extension found
    """
    tbs = cert.certificate.tbs_certificate_bytes
    fields = _der_elements(tbs[_header_size(tbs):])
    own = fields.pop() if fields[-1][0] == 0xA3 else None   # [3] EXPLICIT Extensions, last when present
    sequence = b"" if own is None else own[_header_size(own):]
    listed = _der_elements(sequence[_header_size(sequence):]) if sequence else []
    tbs = _der(0x30, b"".join(fields) + _der(0xA3, _der(0x30, b"".join(listed) + b"".join(extensions))))
    signer = (cert.issued_by or cert).key
    identifier = fields[2 if fields[0][0] == 0xA0 else 1]
    return _assemble(tbs, identifier, signer.sign(tbs, padding.PKCS1v15(), hashes.SHA256()))


def _header_size(element: bytes) -> int:
    """The length of a DER element's tag and length octets."""
    return 2 if element[1] < 0x80 else 2 + (element[1] & 0x7F)


# ----------------------------------------------------------------------------- exports

def cer_bytes(cert: LabCertificate | x509.Certificate, *, pem: bool = False) -> bytes:
    """A .cer file: DER (Windows' "DER encoded binary X.509") or PEM ("Base-64 encoded X.509").

    >>> root = LabPki("doc").public_root
    >>> cer_bytes(root)[:1], cer_bytes(root, pem=True).splitlines()[0]
    (b'0', b'-----BEGIN CERTIFICATE-----')
    """
    certificate = cert.certificate if isinstance(cert, LabCertificate) else cert
    return certificate.public_bytes(serialization.Encoding.PEM if pem else serialization.Encoding.DER)


def p7b_bytes(certs: Iterable[LabCertificate | x509.Certificate], *, pem: bool = False) -> bytes:
    """A .p7b file (PKCS#7 certificates-only), DER as Windows exports it or PEM.

    >>> leaf = LabPki("doc").internal_ca
    >>> from cryptography.hazmat.primitives.serialization import pkcs7
    >>> len(pkcs7.load_der_pkcs7_certificates(p7b_bytes(leaf.chain)))
    2
    """
    certificates = [c.certificate if isinstance(c, LabCertificate) else c for c in certs]
    return pkcs7.serialize_certificates(certificates,
                                        serialization.Encoding.PEM if pem else serialization.Encoding.DER)


def pfx_bytes(cert: LabCertificate, password: str | bytes, *, include_chain: bool = True,
              friendly_name: str | None = None) -> bytes:
    """A .pfx (PKCS#12) with the private key, the certificate and (by default) its issuers.

    Not byte-identical between runs: PKCS#12 encryption draws random salts and IVs. The
    key and certificates inside are the same every time.

    >>> cert = LabPki("doc").public_ca
    >>> from cryptography.hazmat.primitives.serialization import pkcs12
    >>> key, leaf, extra = pkcs12.load_key_and_certificates(pfx_bytes(cert, "Pa55w0rd!"), b"Pa55w0rd!")
    >>> leaf == cert.certificate, len(extra)
    (True, 1)
    """
    secret = password.encode("utf-8") if isinstance(password, str) else password
    chain = [c.certificate for c in cert.chain[1:]] if include_chain else None
    name = friendly_name.encode("utf-8") if friendly_name else None
    return pkcs12.serialize_key_and_certificates(name, cert.key, cert.certificate, chain,
                                                 serialization.BestAvailableEncryption(secret))


def roots_pem(certs: Iterable[LabCertificate | x509.Certificate]) -> bytes:
    """A PEM bundle of trust anchors, the file an engineer passes with ``--roots``.

    >>> roots_pem([LabPki("doc").public_root]).count(b"BEGIN CERTIFICATE")
    1
    """
    return b"".join(cer_bytes(c, pem=True) for c in certs)
