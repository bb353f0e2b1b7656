"""Evidence bundles fuzzed by structure: zips of random member names (traversal, absolute paths,
drives, Compress-Archive's backslashes, duplicates), random contents, zips inside zips and zip
bombs. A bundle either lists every file it holds, each named inside it, or is refused with an
ExlabError naming the zip and the member; nothing is written to disk."""

from __future__ import annotations

import io
import os
import re
import zipfile
from pathlib import Path, PurePosixPath
from unittest import mock

import pytest
from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st

from exlab import bundle
from exlab.bundle import UnsafeBundle, bundle_members, open_member
from exlab.errors import CorruptInput
from tests.fuzz.harness import BASE_SEED, EXAMPLES, TIME_LIMIT, time_limit

ZIPS = settings(max_examples=max(1, EXAMPLES // 2), deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
PARTS = st.sampled_from(["certs", "logs", "MessageTracking", "EX01", "..", ".", "a b", "ąę", "C:", "c:", "D:x",
                         "~", "...", "..."]) | st.text(alphabet="abc.\\/:", min_size=1, max_size=6)
NAMES = st.builds(lambda lead, parts, sep, file: lead + sep.join([*parts, file]),
                  st.sampled_from(["", "", "/", "\\", "C:\\", "//server/share/"]), st.lists(PARTS, max_size=4),
                  st.sampled_from(["/", "\\"]), st.sampled_from(["fl.txt", "SEND1.LOG", "app.evtx", "..", "x"]))
MEMBERS = st.lists(st.tuples(NAMES, st.binary(max_size=200), st.sampled_from([zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED])),
                   min_size=1, max_size=6)
_DRIVE = re.compile(r"^[A-Za-z]:")


def zipped(members: list[tuple[str, bytes, int]]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive, mock.patch("warnings.warn"):   # duplicates are the point
        for name, data, compression in members:
            archive.writestr(zipfile.ZipInfo(name, (2025, 3, 21, 16, 40, 0)), data, compression)
    return out.getvalue()


def outside(name: str) -> bool:
    """Whether a member name points outside the zip, by the rule Windows and POSIX tools share."""
    clean = name.replace("\\", "/")
    return clean.startswith("/") or bool(_DRIVE.match(clean)) or ".." in PurePosixPath(clean).parts


def listed(path: Path) -> list[str] | str:
    """The members' names as the bundle shows them, or the refusal's class; the folder unchanged."""
    before = sorted(os.listdir(path.parent))
    try:
        with time_limit(TIME_LIMIT):
            members = bundle_members(path)
            for member in members:
                stream, closing = open_member(member)
                with closing:
                    assert len(stream.read()) == member.size
    except (UnsafeBundle, CorruptInput) as err:
        assert err.source == str(path), err
        return type(err).__name__
    finally:
        assert sorted(os.listdir(path.parent)) == before, "a bundle was extracted to disk"
    return [member.shown for member in members]


@pytest.mark.parametrize("nested", [False, True], ids=["zip", "zip-in-zip"])
@ZIPS
@seed(BASE_SEED)
@given(members=MEMBERS)
def test_a_bundle_lists_each_file_inside_it_or_is_refused(nested, members, tmp_path_factory):
    folder = tmp_path_factory.mktemp("bundle")
    path = folder / "bundle.zip"
    path.write_bytes(zipped([("EX01.zip", zipped(members), zipfile.ZIP_DEFLATED)]) if nested else zipped(members))
    stored = [zipfile.ZipInfo(name).filename for name, _, _ in members]
    clean = [name.replace("\\", "/") for name in stored]
    outcome = listed(path)
    if any(outside(name) for name in stored) or len(set(clean)) < len(clean):
        assert outcome == "UnsafeBundle"
        return
    files = sorted((name for name in clean if not name.endswith("/")), key=lambda name: PurePosixPath(name).parts)
    if isinstance(outcome, str):    # a member that is itself a zip (random bytes starting PK), damaged
        assert outcome in ("CorruptInput", "UnsafeBundle")
        return
    assert outcome == [f"EX01.zip!{name}" if nested else name for name in files]


@ZIPS
@seed(BASE_SEED)
@given(size=st.integers(1 << 10, 1 << 18), filler=st.sampled_from([b"\0", b"A", b"Thumbprint : AB\r\n"]),
       depth=st.integers(0, 2))
def test_a_member_past_the_compression_ratio_is_refused_naming_it(size, filler, depth, tmp_path_factory):
    """(The ratio's floor lowered to 1 KiB, so that small bombs show what big ones do.)"""
    data = (filler * (size // len(filler) + 1))[:size]
    inner = zipped([("logs/SEND1.LOG", data, zipfile.ZIP_DEFLATED)])
    info = zipfile.ZipFile(io.BytesIO(inner)).getinfo("logs/SEND1.LOG")
    route = ["logs/SEND1.LOG"]
    for level in range(depth):
        inner = zipped([(f"z{level}.zip", inner, zipfile.ZIP_DEFLATED)])
        route.insert(0, f"z{level}.zip")
    path = tmp_path_factory.mktemp("bomb") / "bundle.zip"
    path.write_bytes(inner)
    with mock.patch.object(bundle, "RATIO_FLOOR", 1 << 10):
        bomb = info.file_size > bundle.MAX_RATIO * info.compress_size
        if not bomb:
            assert listed(path) == ["!".join(route)]
            return
        with pytest.raises(UnsafeBundle, match="zip bomb") as refused:
            bundle_members(path)
    assert refused.value.where == "!".join(route)
