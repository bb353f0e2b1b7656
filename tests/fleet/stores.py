"""What the fleet tests share: the lab's multi-server case, and a case's frames as the store names files."""

from __future__ import annotations

import json
import warnings
from functools import partial

import pandas as pd

import exlab
from exlab.case import TRUST_ANCHORS
from exlab.settings import SETTINGS_FILE
from tests.conftest import SAMPLES

LITWARE = SAMPLES / "litware-servers"
CONTOSO = SAMPLES / "contoso-kb2888788"
ROOTS = SAMPLES / "lab-public-root.pem"


def folder_case(folder, **options) -> exlab.Case:
    """The case read straight from its folder, files named as the store names them (``<folder>/...``)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        case = exlab.open_case(folder, roots=ROOTS, **options)
    for kind, frame in case.frames.items():
        renamed = frame.assign(source=frame["source"].map(
            lambda value: value if pd.isna(value) else "; ".join(f"{folder.name}/{part}" for part in value.split("; ")),
            na_action="ignore").astype(frame["source"].dtype))
        renamed.attrs = frame.attrs
        case.frames[kind] = renamed
    return case


def store_case(store, **options) -> exlab.Case:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return exlab.open_case(store, roots=ROOTS, **options)


def verdicts(case: exlab.Case) -> pd.DataFrame:
    return case.server_verdicts()[["server", "verdict", "cause", "culprit", "fix", "failures"]]


def direct_case(folder, **options) -> exlab.Case:
    """The case read straight from ``folder``, with the lab root unless its own settings name it."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return exlab.open_case(folder, **({} if (folder / SETTINGS_FILE).is_file() else {"roots": ROOTS}), **options)


def assert_same_case(stored: exlab.Case, direct: exlab.Case, *, prefix: str = "") -> None:
    """The store's case answers as the folder's: every frame row for row, the verdicts, the diagnosis,
    the parse reports (every file, its SHA-256 and losses) and the files not read; ``prefix``: what the
    store's names have before the folder's (its folder's name, when the folder itself was ingested).
    The trust anchors differ as documented: a store is given them when opened, a folder's settings
    may name its own."""
    named = partial(_named, prefix=prefix)
    assert set(stored.frames) == set(direct.frames)
    for kind in direct.frames:
        pd.testing.assert_frame_equal(stored.frames[kind], named(direct.frames[kind]), obj=kind)
    for name in ("certs", "failures"):
        pd.testing.assert_frame_equal(getattr(stored, name), named(getattr(direct, name)), obj=name)
    pd.testing.assert_frame_equal(stored.server_verdicts(), direct.server_verdicts())
    assert _without(json.dumps(stored.diagnose().to_dict(None)), prefix) == json.dumps(direct.diagnose().to_dict(None))
    assert _evidence_reports(stored, "") == _evidence_reports(direct, prefix)
    assert _unread(stored, "") == _unread(direct, prefix)


def _named(frame: pd.DataFrame, prefix: str) -> pd.DataFrame:
    if not prefix or "source" not in frame:
        return frame
    out = frame.assign(source=frame["source"].map(
        lambda value: "; ".join(prefix + part for part in value.split("; ")), na_action="ignore"
    ).astype(frame["source"].dtype))
    out.attrs = frame.attrs
    return out


def _without(text: str, prefix: str) -> str:
    return text.replace(prefix, "") if prefix else text


def _evidence_reports(case: exlab.Case, prefix: str) -> list[tuple]:
    table = case.reports.to_frame()
    table = table[~table["format"].str.startswith(TRUST_ANCHORS)].astype(object).where(table.notna(), None)
    return sorted((prefix + row.pop("file"), *row.values()) for row in table.to_dict("records"))


def _unread(case: exlab.Case, prefix: str) -> list[tuple]:
    """The files not read, with why, a reader's reason naming the file as the store does (a folder's case
    names it by its path on this machine)."""
    return sorted((prefix + row["file"], str(row["reason"]).replace(f"{case.folder}/", prefix), str(row["kind"]))
                  for row in case.unread.to_dict("records") if "trust anchors" not in str(row["reason"]))
