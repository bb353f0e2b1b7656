"""Damaged exports: whatever happens to the bytes, read_certs returns a frame or raises an
ExlabError naming the stream, never another exception."""

from __future__ import annotations

import io
import tracemalloc
import warnings

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import exlab
from exlab.errors import ExlabError
from exlab.limits import OverLimit

from .helpers import FIXTURES, kb2888788_pair

SAMPLES = sorted(p.read_bytes() for p in FIXTURES.iterdir())


def _damage(data: bytes, cuts: list[tuple[int, int, int]]) -> bytes:
    """Overwrite, drop or truncate bytes at the given (position, kind, value) places."""
    out = bytearray(data)
    for position, kind, value in cuts:
        if not out:
            break
        at = position % len(out)
        if kind == 0:
            out[at] = value
        elif kind == 1:
            del out[at: at + value % 16 + 1]
        else:
            del out[at:]
    return bytes(out)


def _read_or_exlab_error(data: bytes) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            frame = exlab.read_certs(io.BytesIO(data))
        except ExlabError as err:
            assert err.source == "<stream>"
            return
    assert frame["thumbprint"].str.fullmatch(r"[0-9A-F]{40}").all()


damage = st.lists(st.tuples(st.integers(0, 1 << 20), st.integers(0, 2), st.integers(0, 255)), min_size=1,
                  max_size=4)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(sample=st.sampled_from(SAMPLES), cuts=damage)
def test_damaged_exchange_exports_never_raise_anything_but_exlab_errors(sample, cuts):
    _read_or_exlab_error(_damage(sample, cuts))


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(pem=st.booleans(), cuts=damage)
def test_damaged_certificates_never_raise_anything_but_exlab_errors(pem, cuts):
    public, _ = kb2888788_pair()
    _read_or_exlab_error(_damage(public.pem if pem else public.der, cuts))


def test_a_huge_text_export_is_refused_at_the_cap_without_being_read_whole(monkeypatch, tmp_path):
    monkeypatch.setattr("exlab.limits.MAX_WHOLE_FILE", 64 * 1024)
    export = (FIXTURES / "fl_en-US.txt").read_bytes()
    huge = tmp_path / "fl_huge.txt"
    huge.write_bytes(export + "\r\n".encode("utf-16-le") * (4 << 20))   # a Format-List with 16 MiB of blank lines
    tracemalloc.start()
    with pytest.raises(OverLimit, match=r"fl_huge.txt, byte 65536: expected a certificate text export of at most "
                                        r"64 KiB \(the file is longer\)"):
        exlab.read_certs(huge)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 4 << 20   # the file is 16 MiB
    assert len(exlab.read_certs(FIXTURES / "fl_en-US.txt")) > 0   # a real export is far under the cap
