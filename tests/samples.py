"""The committed lab cases and their ground truth, for tests that run whole investigations."""

from __future__ import annotations

import json
import warnings
from dataclasses import dataclass
from pathlib import Path

import exlab
from tests.conftest import SAMPLES


def quiet_case(folder: Path, **options) -> exlab.Case:
    """``exlab.open_case(folder, **options)`` with its warnings (the reports keep them) not shown."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return exlab.open_case(folder, **options)


@dataclass(frozen=True)
class SampleCase:
    folder: Path
    truth: dict

    @property
    def name(self) -> str:
        return self.folder.name

    @property
    def roots(self) -> Path | None:
        roots = self.truth.get("roots")
        return (self.folder / roots).resolve() if roots else None

    def parameters(self) -> dict:
        """Papermill parameters for exlab's notebooks on this case."""
        return {"case_folder": str(self.folder), "roots": str(self.roots) if self.roots else None,
                "tz": self.truth.get("tz"), "culture": self.truth.get("culture"), "server_fqdn": None,
                "connector": None}

    @property
    def headline(self) -> str:
        return f"KB 2888788: {self.truth['verdict']}"


def sample_cases() -> list[SampleCase]:
    return [SampleCase(path.parent, json.loads(path.read_text(encoding="utf-8")))
            for path in sorted(SAMPLES.glob("*/truth.json"))]
