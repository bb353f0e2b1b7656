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

import linecache
import warnings
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd

from exlab.errors import AssumptionWarning, DataLossWarning, ExlabWarning


#: the warnings given inside :func:`warnings_once` (None outside it)
_GIVEN: ContextVar[set[tuple[str, str]] | None] = ContextVar("exlab_warnings_given", default=None)


@contextmanager
def warnings_once() -> Iterator[None]:
    """Within this block (or a function it decorates), each warning about a file is given once,
    however often the file is read (a case reads a batch again file by file when one is refused).

    >>> with warnings.catch_warnings(record=True) as caught, warnings_once():
    ...     warnings.simplefilter("always")
    ...     for _ in range(2):
    ...         FileReport("events/app.csv", "", "event-viewer-text").warn("no offset", "line 2")
    >>> len(caught)
    1
    """
    token = _GIVEN.set(set())
    try:
        yield
    finally:
        _GIVEN.reset(token)


def warn_at(warning: ExlabWarning) -> None:
    """Issue ``warning`` at its evidence file and place (:meth:`FileReport.warn` does, once per
    file; call this only for a file no report holds, such as one a reader refused).

    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     warn_at(ExlabWarning("not read: expected #Fields", "logs/MSGTRK.LOG", "line 5"))
    >>> caught[0].filename, caught[0].lineno, str(caught[0].message)
    ('logs/MSGTRK.LOG', 5, 'line 5: not read: expected #Fields')
    """
    source = warning.source or "<evidence>"
    given = _GIVEN.get()
    if given is not None:
        if (source, str(warning)) in given:
            return
        given.add((source, str(warning)))
    # The evidence is not source code: an empty entry keeps the display of the warning from
    # reading the file (linecache would read it whole to print one of its lines).
    linecache.cache.setdefault(source, (None, None, [], source))
    warnings.warn_explicit(warning, type(warning), source, warning.line, module="exlab")


#: losses a file's report lists one by one (the first ones); past them it only counts them, by kind, so
#: that a file of millions of bad lines costs the memory of a thousand
LISTED_LOSSES = 1000


@dataclass
class Loss:
    """One thing that could not be read: a record or a whole chunk."""

    kind: str      # "record", "chunk", or "value" (read as NA, the row kept)
    where: str     # e.g. "chunk 3, record 812 at offset 0x2a10"
    reason: str


@dataclass
class RecordAccount:
    """How the numbered records of one file add up (.evtx): what the headers claim, what
    was read, what is lost and where, duplicates and chunks recovered.

    The claims are sets of record numbers: the file header's (its oldest chunk's first
    record up to its next record number less one), each chunk header's (first to last),
    and the numbers that belong in unreadable chunks between two readable ones. The
    account balances: every claimed number was read or is lost, and what was read beyond
    any claim is counted apart.

    >>> account = RecordAccount(claimed_by_header=400, claimed_by_chunks=400, claimed=400,
    ...     read=300, lost=100, statements=["chunk 1 at offset 0x11000 is zeroed: records 257-356 lost"])
    >>> account.balanced, account.summary()
    (True, 'claimed 400 = read 300 + lost 100')
    """

    claimed_by_header: int | None = None   # None: the file header's claim cannot be believed
    claimed_by_chunks: int = 0
    claimed: int = 0                # distinct record numbers any header claims
    read: int = 0                   # distinct record numbers read
    lost: int = 0                   # claimed and not read
    unclaimed: int = 0              # read and claimed by no header
    duplicates_dropped: int = 0     # same number, same content: kept once
    duplicates_kept: int = 0        # same number, different content: all kept
    chunks_recovered: int = 0       # chunks past the file header's count that were read
    truncated: bool = False         # the file ends inside a chunk or before the header's chunks
    statements: list[str] = field(default_factory=list)
    #: (where, first, last) of each run of lost record numbers: the chunk (index and offset)
    #: they belong in, or "no chunk" for numbers only the file header counts
    lost_ranges: list[tuple[str, int, int]] = field(default_factory=list)

    @property
    def noteworthy(self) -> bool:
        """Records lost or repeated, the file cut short, or none of the records its header
        counts readable: what the engineer is warned of."""
        return bool(self.lost or self.truncated or self.duplicates_dropped or self.duplicates_kept or self.unread_claim)

    @property
    def unread_claim(self) -> bool:
        """The file header counts records (its claim could not be placed) and none was read."""
        return self.claimed_by_header is None and not self.read

    @property
    def balanced(self) -> bool:
        return self.claimed == self.read - self.unclaimed + self.lost

    def summary(self) -> str:
        """The balance in one line."""
        text = f"claimed {self.claimed:,} = read {self.read - self.unclaimed:,} + lost {self.lost:,}"
        extras = [f"{count:,} {label}" for count, label in (
            (self.unclaimed, "read beyond any claim"), (self.duplicates_dropped, "duplicates dropped"),
            (self.duplicates_kept, "duplicate numbers kept (different content)"),
            (self.chunks_recovered, "chunks recovered past the header's count")) if count]
        return text + (f" ({', '.join(extras)})" if extras else "")


@dataclass
class FileReport:
    """The parse report of one evidence file."""

    file: str
    sha256: str
    format: str
    engine: str | None = None
    size: int | None = None
    records_read: int = 0
    losses: list[Loss] = field(default_factory=list)      # the first LISTED_LOSSES
    unlisted: dict[str, int] = field(default_factory=dict)  # the losses past them, counted by kind
    warnings: list[str] = field(default_factory=list)
    assumed_tz: str | None = None
    account: RecordAccount | None = None
    # a certificate export whose rows name the server whose store they list (PSComputerName, Identity, a
    # transcript's Machine: or -Server): its folder says nothing of whose they are (exlab.attribution)
    names_server: bool = False

    @property
    def records_skipped(self) -> int:
        return self._lost("record")

    @property
    def chunks_skipped(self) -> int:
        return self._lost("chunk")

    @property
    def values_nulled(self) -> int:
        return self._lost("value")

    def skip_record(self, where: str, reason: str) -> None:
        """Count a record that could not be read.

        >>> f = FileReport("SEND20250320-1.LOG", "", "smtp-send-protocol-log")
        >>> for line in range(6, 5006):
        ...     f.skip_record(f"line {line}", "1 fields, expected 9 fields")
        >>> f.records_skipped, len(f.losses), f.losses[-1].where
        (5000, 1000, 'line 1005')
        """
        self._count(Loss("record", where, reason))

    def skip_chunk(self, where: str, reason: str) -> None:
        """Count a chunk (a block of records) that could not be read."""
        self._count(Loss("chunk", where, reason))

    def null_value(self, where: str, reason: str) -> None:
        """Count a value read as NA because its column cannot hold it (the row is kept)."""
        self._count(Loss("value", where, reason))

    def skip_unlisted(self, count: int) -> None:
        """Count ``count`` records that could not be read, past the listed losses (their places not kept).

        >>> f = FileReport("SEND20250320-1.LOG", "", "smtp-send-protocol-log")
        >>> f.skip_unlisted(2_000_000); f.records_skipped, f.losses
        (2000000, [])
        """
        if count:
            self.unlisted["record"] = self.unlisted.get("record", 0) + count

    def _count(self, loss: Loss) -> None:
        if len(self.losses) < LISTED_LOSSES:
            self.losses.append(loss)
        else:
            self.unlisted[loss.kind] = self.unlisted.get(loss.kind, 0) + 1

    def _lost(self, kind: str) -> int:
        return sum(1 for loss in self.losses if loss.kind == kind) + self.unlisted.get(kind, 0)

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
        for loss in part.losses:
            self._count(loss)
        for kind, count in part.unlisted.items():
            self.unlisted[kind] = self.unlisted.get(kind, 0) + count
        self.warnings.extend(part.warnings)

    def note(self, message: str) -> None:
        """Record a warning that is not a loss (a repaired header, a guessed encoding)."""
        self.warnings.append(message)

    def warn(self, text: str, where: str | None = None, category: type[ExlabWarning] = ExlabWarning) -> None:
        """Note ``text`` and warn the engineer, once per file and text, naming this file and ``where``.

        The warning's ``filename`` is the evidence file and its ``lineno`` the line
        ``where`` names (0 when the place is not a line), so Python, Jupyter and the
        ``exlab`` command all show the evidence and never exlab's own source:

        >>> f = FileReport("certs/fl.txt", "", "exchange-fl")
        >>> with warnings.catch_warnings(record=True) as caught:
        ...     warnings.simplefilter("always")
        ...     f.warn("day/month order inferred", "line 12", AssumptionWarning)
        ...     f.warn("day/month order inferred", "line 12", AssumptionWarning)
        >>> [(w.filename, w.lineno, str(w.message)) for w in caught]
        [('certs/fl.txt', 12, 'line 12: day/month order inferred')]
        >>> f.warnings
        ['line 12: day/month order inferred']
        """
        warning = category(text, self.file, where)
        if str(warning) in self.warnings:
            return
        self.note(str(warning))
        warn_at(warning)

    def assume_tz(self, tz: str, why: str, where: str | None = None) -> None:
        """Record that local times in this file (from ``where`` on) were read in time zone ``tz``."""
        self.assumed_tz = tz
        self.warn(f"local times read as {tz}: {why}", where, AssumptionWarning)

    def warn_losses(self) -> None:
        """Warn once for this file if anything was skipped (called when the file is done).

        A file with an account (.evtx) that lost or repeated records is warned through it: its
        first statement, the balance and what the engine skipped, in one warning.

        >>> f = FileReport("System.evtx", "", "evtx")
        >>> f.account = RecordAccount(claimed=350, read=274, lost=76,
        ...                           statements=["chunk 2 at offset 0x21000 is zeroed: records 153-228 lost"])
        >>> with warnings.catch_warnings(record=True) as caught:
        ...     warnings.simplefilter("always")
        ...     f.warn_losses()
        >>> print(caught[0].message)
        chunk 2 at offset 0x21000 is zeroed: records 153-228 lost. claimed 350 = read 274 + lost 76; see the parse report
        """
        account = self.account
        if account is not None and account.noteworthy:
            skipped = (f"; the engine skipped {self.records_skipped:,} record(s) and {self.chunks_skipped:,} chunk(s)"
                       if self.losses else "")
            lossy = account.lost or account.truncated or account.unread_claim or self.losses
            category = DataLossWarning if lossy else ExlabWarning
            self.warn(f"{account.statements[0]}. {account.summary()}{skipped}; see the parse report", None, category)
            return
        if not self.losses:
            return
        first = self.losses[0]
        nulled = f" and read {self.values_nulled:,} value(s) as NA" if self.values_nulled else ""
        self.warn(f"skipped {self.records_skipped:,} record(s) and {self.chunks_skipped:,} chunk(s){nulled}, the first "
                  f"here: {first.reason}. See the parse report.", first.where, DataLossWarning)


@dataclass
class ParseReport:
    """The reports of all files behind one frame.

    A frame made from another (a filter, a column added, a copy) comes from the same reads, so it
    shares its parse report: pandas deep-copies ``attrs`` on every operation, and a copy of the
    report each time cost more than the operation itself (thousands of copies for one case).

    >>> import pandas as pd
    >>> frame = pd.DataFrame({"n": [1, 2]})
    >>> frame.attrs["parse_report"] = ParseReport()
    >>> frame[frame["n"] > 1].copy(deep=True).attrs["parse_report"] is frame.attrs["parse_report"]
    True
    """

    files: list[FileReport] = field(default_factory=list)

    def __deepcopy__(self, memo: dict) -> ParseReport:
        return self     # shared, not copied: see the class docstring

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
        """One row per file: the table an engineer (or a report) shows. Files with numbered
        records (.evtx) also give their account (:class:`RecordAccount`); other files NA there.

        >>> report = ParseReport()
        >>> f = report.add_file("System.evtx", sha256="", format="evtx")
        >>> f.account = RecordAccount(claimed=10, read=8, lost=2, statements=["chunk 0 ..."])
        >>> report.to_frame()[["records_claimed", "records_lost", "accounting"]].values.tolist()
        [[10, 2, 'claimed 10 = read 8 + lost 2; chunk 0 ...']]
        """
        import pandas as pd   # here, not at the top: worker processes start without pandas

        frame = pd.DataFrame(
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
                    "values_nulled": f.values_nulled,
                    "assumed_tz": f.assumed_tz,
                    "warnings": len(f.warnings),
                    "first_loss": f"{f.losses[0].where}: {f.losses[0].reason}" if f.losses else None,
                    **_account_columns(f.account),
                }
                for f in self.files
            ],
            columns=["file", "sha256", "format", "engine", "size", "records_read", "records_skipped",
                     "chunks_skipped", "values_nulled", "assumed_tz", "warnings", "first_loss", *_ACCOUNT_COLUMNS],
        )
        return frame.astype({name: "Int64" for name in _ACCOUNT_COUNTS} | {"truncated": "boolean"})

    def _repr_html_(self) -> str:
        return self.to_frame()._repr_html_()


_ACCOUNT_COUNTS = ("claimed_by_header", "claimed_by_chunks", "records_claimed", "records_lost",
                   "records_unclaimed", "duplicates_dropped", "duplicates_kept", "chunks_recovered")
_ACCOUNT_COLUMNS = (*_ACCOUNT_COUNTS, "truncated", "accounting")


def _account_columns(account: RecordAccount | None) -> dict:
    if account is None:
        return dict.fromkeys(_ACCOUNT_COLUMNS)
    return {
        "claimed_by_header": account.claimed_by_header,
        "claimed_by_chunks": account.claimed_by_chunks,
        "records_claimed": account.claimed,
        "records_lost": account.lost,
        "records_unclaimed": account.unclaimed,
        "duplicates_dropped": account.duplicates_dropped,
        "duplicates_kept": account.duplicates_kept,
        "chunks_recovered": account.chunks_recovered,
        "truncated": account.truncated,
        "accounting": "; ".join([account.summary(), *account.statements]),
    }
