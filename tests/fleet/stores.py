"""What the fleet tests share: the lab's multi-server case, and a case's frames as the store names files."""

from __future__ import annotations

import warnings

import pandas as pd

import exlab
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
