"""The caps on one line and on an export read whole: bounded memory, counted skips, clear errors."""

from __future__ import annotations

import io
import tracemalloc

import pytest

from exlab.limits import MAX_FIELD, OverLimit, iter_capped_lines, read_whole


class EndlessLine(io.RawIOBase):
    """``before``, then ``length`` bytes of ``x`` made on the fly (never held whole), then ``after``."""

    def __init__(self, before: bytes, length: int, after: bytes) -> None:
        self._parts = [before, None, after]
        self._left = length

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        while self._parts:
            part = self._parts[0]
            if part is None and self._left:
                count = min(len(buffer), self._left)
                buffer[:count] = b"x" * count
                self._left -= count
                return count
            if part:
                count = min(len(buffer), len(part))
                buffer[:count], self._parts[0] = part[:count], part[count:]
                return count
            self._parts.pop(0)
        return 0


def test_an_endless_line_is_read_through_in_bounded_memory_and_counted():
    peaks, skipped = [], []
    for length in (4 << 20, 40 << 20):
        stream = io.BufferedReader(EndlessLine(b"first\r\n", length, b"\r\nlast\r\n"))
        tracemalloc.start()
        lines = list(iter_capped_lines(stream, "endless.log", 1 << 20, skipped.append))
        peaks.append(tracemalloc.get_traced_memory()[1])
        tracemalloc.stop()
        assert lines == [b"first\r\n", b"\n", b"last\r\n"]   # the long line stands as its line end: numbers hold
    assert skipped == [2, 2]
    assert peaks[1] < 1.5 * peaks[0] and peaks[1] < 6 << 20   # the cap and a few blocks, whatever the length


def test_without_a_skip_counter_a_long_line_is_refused_naming_the_file_and_line():
    stream = io.StringIO("ok\n" + "x" * 100 + "\n")
    with pytest.raises(OverLimit, match=r"^a.txt, line 2: expected a line of at most 64 bytes$"):
        list(iter_capped_lines(stream, "a.txt", 64))


def test_lines_at_the_cap_are_kept_whole_with_their_line_ends():
    text = "y" * 16 + "\r\n" + "z" * 16
    assert list(iter_capped_lines(io.StringIO(text, newline=""), "a.txt", 16)) == ["y" * 16 + "\r\n", "z" * 16]


def test_a_file_read_whole_is_refused_past_its_cap():
    assert read_whole(io.BytesIO(b"x" * 64), "fl.txt", "a certificate text export", 64) == b"x" * 64
    with pytest.raises(OverLimit, match=r"fl.txt, byte 64: expected a certificate text export of at most 64 bytes"):
        read_whole(io.BytesIO(b"x" * 65), "fl.txt", "a certificate text export", 64)


def test_the_field_cap_is_generous_for_real_evidence():
    assert MAX_FIELD == 16 << 20


WHOLE_FILE_EXPORTS = [("certs", "certs/Get-ExchangeCertificate-fl.txt", "a certificate text export"),
                      ("certs", "certs/mail.contoso.com-2024.cer", "a certificate file"),
                      ("connectors", "config/Get-SendConnector.txt", "a settings export")]


@pytest.mark.parametrize(("kind", "name", "what"), WHOLE_FILE_EXPORTS)
def test_an_export_past_the_whole_file_cap_is_refused_before_it_is_read(tmp_path, monkeypatch, kind, name, what):
    import exlab
    from tests.samples import sample_cases

    case = next(case for case in sample_cases() if case.name == "contoso-kb2888788")
    huge = tmp_path / name.rsplit("/", 1)[1]
    huge.write_bytes((case.folder / name).read_bytes() + bytes(16 << 20))     # 16 MiB past a real export
    monkeypatch.setattr("exlab.limits.MAX_WHOLE_FILE", 4 << 20)
    read = {"certs": exlab.read_certs, "connectors": exlab.read_connectors}[kind]
    tracemalloc.start()
    with pytest.raises(OverLimit, match=f"{huge.name}, byte 4194304: expected {what} of at most 4 MiB"):
        read(huge)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 3 << 20          # the hash's blocks, never the 4 MiB the cap allows


def test_a_file_read_whole_sets_aside_its_size_not_the_cap(tmp_path):
    path = tmp_path / "cert-fl.txt"
    path.write_bytes(b"Thumbprint : AB\r\n" * 100)
    tracemalloc.start()
    try:
        with open(path, "rb") as stream:
            data = read_whole(stream, str(path), "a certificate export")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert data == path.read_bytes()
    assert peak < 1 << 20          # the cap is 256 MiB: read(cap + 1) set that much aside for 1.7 kB


class _Growing(io.BytesIO):
    """A file that a writer appends to after its size was told (a live export)."""

    def seek(self, offset, whence=io.SEEK_SET):
        at = super().seek(offset, whence)
        return at - 4 if whence == io.SEEK_END else at


def test_a_file_that_grew_after_its_size_was_told_is_read_to_its_end_or_refused():
    assert read_whole(_Growing(b"0123456789"), "live.txt", "an export", cap=16) == b"0123456789"
    with pytest.raises(OverLimit, match="live.txt"):
        read_whole(_Growing(b"x" * 18), "live.txt", "an export", cap=16)
