"""What every reader did with every file: hashes, formats, records read and lost.

A :class:`ParseReport` travels with each frame as ``frame.attrs["parse_report"]``.
Nothing is dropped silently: each skipped record or chunk is counted in a
:class:`FileReport` and warned about once per file when the file is done.

>>> report = ParseReport()
>>> f = report.add_file("Application.evtx", sha256="00" * 32, format="evtx", engine="evtx")
>>> f.records_read += 10
>>> f.skip_record("record 11 at offset 0x1a00", "bad record signature")
>>> report.records_read, report.records_skipped
(10, 1)
>>> report.to_frame()[["file", "records_read", "records_skipped"]].values.tolist()
[['Application.evtx', 10, 1]]
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Iterable

if TYPE_CHECKING:
    import pandas as pd

from exlab.errors import AssumptionWarning, DataLossWarning


@dataclass
class Loss:
    """One thing that could not be read: a record or a whole chunk."""

    kind: str      # "record" or "chunk"
    where: str     # e.g. "chunk 3, record 812 at offset 0x2a10"
    reason: str


@dataclass
class FileReport:
    """The parse report of one evidence file."""

    file: str
    sha256: str
    format: str
    engine: str | None = None
    size: int | None = None
    records_read: int = 0
    losses: list[Loss] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    assumed_tz: str | None = None

    @property
    def records_skipped(self) -> int:
        return sum(1 for loss in self.losses if loss.kind == "record")

    @property
    def chunks_skipped(self) -> int:
        return sum(1 for loss in self.losses if loss.kind == "chunk")

    def skip_record(self, where: str, reason: str) -> None:
        """Count a record that could not be read."""
        self.losses.append(Loss("record", where, reason))

    def skip_chunk(self, where: str, reason: str) -> None:
        """Count a chunk (a block of records) that could not be read."""
        self.losses.append(Loss("chunk", where, reason))

    def absorb(self, part: FileReport) -> None:
        """Add what the read of a part of this file counted (chunks read by another process).

        >>> whole, part = FileReport("a.evtx", "", "evtx"), FileReport("a.evtx", "", "evtx")
        >>> part.records_read = 5
        >>> part.skip_chunk("chunk 3 at offset 0x31000", "bad signature")
        >>> whole.absorb(part)
        >>> whole.records_read, whole.chunks_skipped
        (5, 1)
        """
        self.records_read += part.records_read
        self.losses.extend(part.losses)
        self.warnings.extend(part.warnings)

    def note(self, message: str) -> None:
        """Record a warning that is not a loss (a repaired header, a guessed encoding)."""
        self.warnings.append(message)

    def assume_tz(self, tz: str, why: str) -> None:
        """Record that local times in this file were read in time zone ``tz``."""
        self.assumed_tz = tz
        self.note(f"local times read as {tz}: {why}")
        warnings.warn(f"{self.file}: local times read as {tz}: {why}", AssumptionWarning, stacklevel=3)

    def warn_losses(self) -> None:
        """Warn once for this file if anything was skipped (called when the file is done)."""
        if not self.losses:
            return
        first = self.losses[0]
        warnings.warn(
            f"{self.file}: skipped {self.records_skipped} record(s) and {self.chunks_skipped} chunk(s); "
            f"first at {first.where}: {first.reason}. See the parse report.",
            DataLossWarning,
            stacklevel=3,
        )


@dataclass
class ParseReport:
    """The reports of all files behind one frame."""

    files: list[FileReport] = field(default_factory=list)

    def add_file(self, file: str, *, sha256: str, format: str, engine: str | None = None,
                 size: int | None = None) -> FileReport:
        report = FileReport(file=file, sha256=sha256, format=format, engine=engine, size=size)
        self.files.append(report)
        return report

    def extend(self, others: Iterable[ParseReport]) -> ParseReport:
        """A new report holding this one's files and those of ``others``."""
        files = list(self.files)
        for other in others:
            files.extend(other.files)
        return ParseReport(files)

    @property
    def records_read(self) -> int:
        return sum(f.records_read for f in self.files)

    @property
    def records_skipped(self) -> int:
        return sum(f.records_skipped for f in self.files)

    @property
    def chunks_skipped(self) -> int:
        return sum(f.chunks_skipped for f in self.files)

    def to_frame(self) -> pd.DataFrame:
        """One row per file: the table an engineer (or a report) shows."""
        import pandas as pd   # here, not at the top: worker processes start without pandas

        return pd.DataFrame(
            [
                {
                    "file": f.file,
                    "sha256": f.sha256,
                    "format": f.format,
                    "engine": f.engine,
                    "size": f.size,
                    "records_read": f.records_read,
                    "records_skipped": f.records_skipped,
                    "chunks_skipped": f.chunks_skipped,
                    "assumed_tz": f.assumed_tz,
                    "warnings": len(f.warnings),
                    "first_loss": f"{f.losses[0].where}: {f.losses[0].reason}" if f.losses else None,
                }
                for f in self.files
            ],
            columns=["file", "sha256", "format", "engine", "size", "records_read", "records_skipped",
                     "chunks_skipped", "assumed_tz", "warnings", "first_loss"],
        )

    def _repr_html_(self) -> str:
        return self.to_frame()._repr_html_()
