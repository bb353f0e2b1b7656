"""Does a certificate's signature verify with a given key, whatever hash it was made with?

Exchange signs its default self-signed ``CN=<server>`` certificate and the ``Microsoft
Exchange Server Auth Certificate`` with sha1WithRSAEncryption. pyca/cryptography's
``verify_directly_issued_by`` refuses SHA-1 and MD5 signatures outright (``ValueError:
Unsupported signature algorithm``), which says nothing about whether the signature is
good. :func:`signature_verifies` checks the signature with the issuer's public key itself
(RSA PKCS#1 v1.5 and PSS, ECDSA, DSA, Ed25519, Ed448, any hash the library can compute);
:func:`self_signed` and :func:`signed_by` use it for self-signed certificates and chain
links. An old hash is a finding to report (:func:`weak_hash`), never a reason to stop.

>>> from datetime import datetime, timezone
>>> from exlab.lab.pki import LabPki
>>> made = LabPki("doc").exchange_self_signed("EX01", "ex01.contoso.com",
...                                           not_before=datetime(2021, 2, 1, tzinfo=timezone.utc))
>>> check = self_signed(made.certificate)
>>> check.value, check.verified, check.basis
(True, True, 'its own key verifies its signature')
>>> weak_hash(made.certificate)
'signed with SHA-1'
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, padding, rsa
from cryptography.utils import CryptographyDeprecationWarning
from cryptography.hazmat.primitives.asymmetric.types import CertificatePublicKeyTypes
from cryptography.x509.oid import SignatureAlgorithmOID

from exlab.certs.extensions import EXTENSION_ERRORS

# Hashes no longer accepted for certificate signatures, as a finding names them.
WEAK_HASHES: dict[str, str] = {"sha1": "SHA-1", "md5": "MD5", "md4": "MD4", "md2": "MD2"}
# Hash names for signature algorithms cryptography no longer resolves (it cannot verify them either).
LEGACY_SIGNATURE_HASHES: dict[str, str] = {"1.2.840.113549.1.1.2": "md2", "1.2.840.113549.1.1.3": "md4",
                                           "1.2.840.113549.1.1.4": "md5"}
# Signature algorithms by family, from the constants' names (RSA_WITH_SHA1, ECDSA_WITH_SHA256...).
_PREFIXES = (("RSASSA_PSS", "rsa-pss"), ("RSA_WITH", "rsa"), ("_RSA_WITH", "rsa"), ("ECDSA_WITH", "ecdsa"),
             ("DSA_WITH", "dsa"), ("ED25519", "ed25519"), ("ED448", "ed448"))
_FAMILIES: dict[x509.ObjectIdentifier, str] = {
    oid: family for name, oid in vars(SignatureAlgorithmOID).items() if isinstance(oid, x509.ObjectIdentifier)
    for prefix, family in _PREFIXES if name.startswith(prefix)}
with warnings.catch_warnings():   # cryptography 51 deprecates DSA: old PKIs still hold DSA certificates
    warnings.simplefilter("ignore", CryptographyDeprecationWarning)
    DSA_PUBLIC_KEY, DSA_PRIVATE_KEY = dsa.DSAPublicKey, dsa.DSAPrivateKey
_KEY_TYPES: dict[str, type] = {"rsa": rsa.RSAPublicKey, "rsa-pss": rsa.RSAPublicKey, "ecdsa": ec.EllipticCurvePublicKey,
                               "dsa": DSA_PUBLIC_KEY, "ed25519": ed25519.Ed25519PublicKey,
                               "ed448": ed448.Ed448PublicKey}


@dataclass(frozen=True)
class SelfSignedCheck:
    """Whether a certificate is self-signed, and on what grounds.

    ``verified`` is True or False when the signature was checked with the certificate's own
    key, None when its algorithm cannot be checked here (``value`` then rests on the names
    and key identifiers, and ``basis`` says so).
    """

    value: bool
    verified: bool | None
    basis: str

    @property
    def guessed(self) -> bool:
        """Called self-signed on names and key identifiers alone (the signature was not checked).

        >>> SelfSignedCheck(True, None, "names").guessed, SelfSignedCheck(True, True, "signature").guessed
        (True, False)
        """
        return self.value and self.verified is None


def signature_algorithm(cert: x509.Certificate) -> str:
    """The signature algorithm's name (its dotted OID when the library does not know it).

    >>> from exlab.lab.pki import LabPki
    >>> signature_algorithm(LabPki("doc").internal_root.certificate)
    'sha256WithRSAEncryption'
    """
    oid = cert.signature_algorithm_oid
    legacy = LEGACY_SIGNATURE_HASHES.get(oid.dotted_string)
    if legacy:
        return f"{legacy}WithRSAEncryption"
    name = getattr(oid, "_name", "Unknown OID")
    return oid.dotted_string if name == "Unknown OID" else name


def signature_hash(cert: x509.Certificate) -> str | None:
    """The hash the signature was made with (``sha1``, ``sha256``, ``md5``...), None for EdDSA.

    >>> from exlab.lab.pki import LabPki
    >>> signature_hash(LabPki("doc").internal_root.certificate)
    'sha256'
    """
    try:
        algorithm = cert.signature_hash_algorithm
    except UnsupportedAlgorithm:
        return LEGACY_SIGNATURE_HASHES.get(cert.signature_algorithm_oid.dotted_string)
    return algorithm.name if algorithm is not None else None


def weak_hash(cert: x509.Certificate) -> str | None:
    """The finding when the signature uses an old hash (``signed with SHA-1``), else None.

    >>> from exlab.lab.pki import LabPki
    >>> weak_hash(LabPki("doc").internal_root.certificate) is None
    True
    """
    name = WEAK_HASHES.get(signature_hash(cert) or "")
    return f"signed with {name}" if name else None


def signature_verifies(cert: x509.Certificate, key: CertificatePublicKeyTypes) -> bool | None:
    """Whether ``key`` made ``cert``'s signature: True, False, or None when the signature
    algorithm is one no library here can verify (MD2, MD4, GOST...).

    The algorithm's family comes from its OID (cryptography gives no parameters for
    md5WithRSAEncryption or ecdsa-with-SHA1); a key of another type than that family (an
    EC key for an RSA signature) did not make it: False.

    >>> from exlab.lab.pki import LabPki
    >>> pki = LabPki("doc")
    >>> signature_verifies(pki.internal_ca.certificate, pki.internal_root.certificate.public_key())
    True
    >>> signature_verifies(pki.internal_ca.certificate, pki.public_root.certificate.public_key())
    False
    """
    family = _FAMILIES.get(cert.signature_algorithm_oid)
    try:
        algorithm = cert.signature_hash_algorithm
        parameters = cert.signature_algorithm_parameters if family == "rsa-pss" else None
    except (UnsupportedAlgorithm, ValueError):   # MD2, or RSA-PSS with an unknown mask generation function
        return None
    if family is None:   # ML-DSA, GOST: nothing here verifies them
        return None
    if not isinstance(key, _KEY_TYPES[family]):
        return False
    try:
        key.verify(cert.signature, cert.tbs_certificate_bytes, *_scheme(family, algorithm, parameters))
    except InvalidSignature:
        return False
    except (UnsupportedAlgorithm, ValueError, TypeError):
        return None
    return True


def _scheme(family: str, algorithm: hashes.HashAlgorithm | None, parameters: object) -> tuple:
    """What a public key's ``verify`` takes after the signature and the signed bytes: padding
    and hash for RSA (PKCS#1 v1.5, or the certificate's PSS parameters), the ECDSA scheme of
    the hash, the hash for DSA, nothing for EdDSA.

    >>> _scheme("ecdsa", hashes.SHA256(), None)[0].algorithm.name, _scheme("ed25519", None, None)
    ('sha256', ())
    """
    if family in ("rsa", "rsa-pss"):
        return (parameters if family == "rsa-pss" else padding.PKCS1v15()), algorithm
    if family == "ecdsa":
        return (ec.ECDSA(algorithm),)
    return (algorithm,) if family == "dsa" else ()


def public_key(cert: x509.Certificate) -> CertificatePublicKeyTypes | None:
    """The certificate's public key, or None when its type is one the library cannot load.

    >>> from exlab.lab.pki import LabPki
    >>> public_key(LabPki("doc").internal_root.certificate).key_size
    2048
    """
    try:
        return cert.public_key()
    except (ValueError, UnsupportedAlgorithm):
        return None


def public_key_der(cert: x509.Certificate) -> bytes | None:
    """The certificate's SubjectPublicKeyInfo in DER, or None when :func:`public_key` cannot load the key.

    >>> from exlab.lab.pki import LabPki
    >>> public_key_der(LabPki("doc").internal_root.certificate)[:2].hex()
    '3082'
    """
    key = public_key(cert)
    if key is None:
        return None
    return key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def same_name(first: x509.Name, second: x509.Name) -> bool:
    """Whether two X.509 names are the same, whatever string types encode them and case aside.

    >>> from cryptography.x509.oid import NameOID
    >>> same_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "EX01")]),
    ...           x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "ex01")]))
    True
    """
    return first == second or first.rfc4514_string().casefold() == second.rfc4514_string().casefold()


def _names(cert: x509.Certificate) -> tuple[x509.Name, x509.Name] | None:
    """The subject and issuer, or None when either cannot be read (the caller reports damage)."""
    with warnings.catch_warnings():   # names longer than RFC 5280 allows are still names
        warnings.simplefilter("ignore")
        try:
            return cert.subject, cert.issuer
        except ValueError:
            return None


def key_identifiers_contradict(cert: x509.Certificate, issuer: x509.Certificate) -> bool:
    """Whether ``cert``'s authority key identifier names a key other than ``issuer``'s subject
    key identifier (False when either is absent or unreadable, as in Exchange's own certificates).

    >>> from exlab.lab.pki import LabPki
    >>> pki = LabPki("doc")
    >>> key_identifiers_contradict(pki.internal_ca.certificate, pki.internal_root.certificate)
    False
    >>> key_identifiers_contradict(pki.internal_ca.certificate, pki.public_root.certificate)
    True
    """
    try:
        authority = cert.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value.key_identifier
        subject = issuer.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value.digest
    except (x509.ExtensionNotFound, *EXTENSION_ERRORS):
        return False
    return authority is not None and authority != subject


def signed_by(cert: x509.Certificate, issuer: x509.Certificate) -> bool | None:
    """Whether ``issuer`` issued ``cert``: its subject is ``cert``'s issuer, the key identifiers
    agree and its key verifies ``cert``'s signature. None when the names and key identifiers
    agree but the signature algorithm cannot be verified here.

    >>> from exlab.lab.pki import LabPki
    >>> pki = LabPki("doc")
    >>> signed_by(pki.internal_ca.certificate, pki.internal_root.certificate)
    True
    >>> signed_by(pki.internal_ca.certificate, pki.internal_ca.certificate)
    False
    """
    names, issuer_names = _names(cert), _names(issuer)
    if names is None or issuer_names is None or not same_name(names[1], issuer_names[0]) \
            or key_identifiers_contradict(cert, issuer):
        return False
    key = public_key(issuer)
    return None if key is None else signature_verifies(cert, key)


def self_signed(cert: x509.Certificate) -> SelfSignedCheck:
    """Whether ``cert`` is self-signed: issuer equals subject, the key identifiers (when both
    are present) agree, and its own key verifies its signature, whatever the hash.

    When the signature algorithm cannot be verified here, the names and key identifiers
    decide and ``basis`` says so; a certificate is never called "not self-signed" merely
    because its signature could not be checked.

    >>> from exlab.lab.pki import LabPki
    >>> pki = LabPki("doc")
    >>> self_signed(pki.internal_ca.certificate)
    SelfSignedCheck(value=False, verified=None, basis='issued by another name')
    """
    names = _names(cert)
    if names is None:
        return SelfSignedCheck(False, None, "its subject or issuer cannot be read")
    if not same_name(*names):
        return SelfSignedCheck(False, None, "issued by another name")
    if key_identifiers_contradict(cert, cert):
        return SelfSignedCheck(False, None, "its authority key identifier names another key than its own")
    key = public_key(cert)
    verified = None if key is None else signature_verifies(cert, key)
    if verified is True:
        return SelfSignedCheck(True, True, "its own key verifies its signature")
    if verified is False:
        return SelfSignedCheck(False, False,
                               "issuer equals subject, but its own key does not verify its signature "
                               "(another CA of the same name issued it)")
    why = ("its public key's type cannot be read here" if key is None
           else f"its signature algorithm ({signature_algorithm(cert)}) cannot be verified here")
    return SelfSignedCheck(True, None, f"issuer equals subject and no key identifier says otherwise; {why}")
