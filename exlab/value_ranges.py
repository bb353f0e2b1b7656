"""Values past what a frame's column holds: read as NA, the row kept, the loss counted.

A damaged or hostile file can hold a Level of 300, an EventRecordID past 2^63, a year 3025
or a 25-digit byte count. None of them fits its column (Int8, Int64, nanoseconds since 1970 in
an int64); the value becomes NA, the file's :class:`~exlab.parse_report.FileReport` counts it
(``null_value``) and the engineer is warned once per file. No pandas here: the .evtx helper
processes import this module.

>>> fit_integers([4, 300, None, "7", "x"], "Int8")
([4, None, None, 7, None], [1, 4])
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

# the nullable integer dtypes of exlab's frames -> (smallest, largest) value they hold
LIMITS: dict[str, tuple[int, int]] = {f"Int{bits}": (-2 ** (bits - 1), 2 ** (bits - 1) - 1) for bits in (8, 16, 32, 64)}
# nanoseconds since 1970 that a pandas time holds (-2^63 is NaT itself)
TIME_LIMITS = (-2 ** 63 + 1, 2 ** 63 - 1)
NAT = -2 ** 63


def ascii_digits(text: str) -> bool:
    """Whether ``text`` is one or more of the digits 0-9 (``str.isdigit`` also takes ``²`` and
    ``٢``, which ``int`` refuses or reads as numbers no Windows tool writes).

    >>> ascii_digits("2004"), ascii_digits("²004"), ascii_digits(""), ascii_digits("-1")
    (True, False, False, False)
    """
    return text.isascii() and text.isdigit()


def fits(value: int, dtype: str) -> bool:
    """Whether ``value`` is held by ``dtype`` (``"Int8"`` ... ``"Int64"``, or ``"time"`` for nanoseconds).

    >>> fits(127, "Int8"), fits(128, "Int8"), fits(2 ** 63, "time")
    (True, False, False)
    """
    low, high = TIME_LIMITS if dtype == "time" else LIMITS[dtype]
    return low <= value <= high


def fit_integers(values: Sequence[Any], dtype: str) -> tuple[list[int | None], list[int]]:
    """``values`` as ints that ``dtype`` holds, others None; and the places of the values made None.

    An int or a text of decimal digits is kept when it fits; None (or a pandas NA) stays None.
    """
    fitted: list[int | None] = []
    lost: list[int] = []
    for index, value in enumerate(values):
        number = _integer(value)
        if number is None or not fits(number, dtype):
            fitted.append(None)
            if number is not None or not _missing(value):
                lost.append(index)
        else:
            fitted.append(number)
    return fitted, lost


def _integer(value: Any) -> int | None:
    if isinstance(value, bool) or _missing(value):
        return None
    if isinstance(value, str):
        text = value.strip()
        return int(text) if ascii_digits(text.removeprefix("-")) else None
    try:
        return int(value) if int(value) == value else None
    except (TypeError, ValueError, OverflowError):
        return None


def _missing(value: Any) -> bool:
    return value is None or value != value or type(value).__name__ in ("NAType", "NaTType")


def count_lost(report: Any, sources: Sequence[Any], place: Callable[[int], str],
               lost: Mapping[str, tuple[Sequence[Any], Sequence[int]]], what: str = "is outside what the column holds",
               ) -> None:
    """Count each lost value in the report of its row's file (``sources[i]``) and warn once per file
    (after the file's own warnings: the count is known when the frame is built).

    ``lost`` maps a column to its values and the places of those read as NA; ``report`` is a
    :class:`~exlab.parse_report.ParseReport` (or None: then a report of the file alone is
    warned); ``place(i)`` names row i's place in its file.

    >>> from exlab.parse_report import ParseReport
    >>> report = ParseReport()
    >>> app = report.add_file("app.xml", sha256="", format="event-xml")
    >>> count_lost(report, ["app.xml"], lambda i: f"event {i + 1}", {"level": ([300], [0]), "task": ([2 ** 40], [0])})
    >>> app.values_nulled, app.losses[0].where, app.losses[0].reason
    (2, 'event 1', 'level 300 is outside what the column holds: read as NA')
    """
    from exlab.parse_report import FileReport

    files = {f.file: f for f in report.files} if report is not None else {}
    from exlab.errors import DataLossWarning

    firsts: dict[str, tuple[str, str]] = {}      # per file, where and why of its first value lost here
    for column, (values, places) in lost.items():
        for index in places:
            source = str(sources[index]) if sources[index] is not None else "<evidence>"
            file = files.get(source)
            if file is None:
                file = files[source] = FileReport(source, "", "")
            where, reason = place(index), f"{column} {str(values[index])[:40]} {what}: read as NA"
            file.null_value(where, reason)
            firsts.setdefault(source, (where, reason))
    for source in sorted(firsts):
        file, (where, reason) = files[source], firsts[source]
        file.warn(f"read {file.values_nulled:,} value(s) as NA, the first here: {reason}. See the parse report.",
                  where, DataLossWarning)
