"""The records of an event CSV export (Event Viewer's CSV/TXT, Get-WinEvent | Export-Csv), each
with the line it starts on; what the csv module cannot read is counted, not lost silently."""

from __future__ import annotations

import csv
from collections.abc import Iterator

from exlab.errors import CorruptInput
from exlab.parse_report import FileReport


def csv_records(records: Iterator[list[str]], source: str, report: FileReport) -> Iterator[tuple[int, list[str]]]:
    """Each record of ``records`` (a ``csv.reader``: its ``line_num`` tells the lines) with the
    line it starts on; blank lines are passed over, a record the csv module refuses (a cell past
    its size limit, a quote out of place) is skipped and counted in ``report``. A file that ends
    inside a quoted cell was cut short: CorruptInput naming ``source`` and the line (only a
    ``strict`` reader tells).

    >>> import io
    >>> report = FileReport("a.csv", "", "demo")
    >>> list(csv_records(csv.reader(io.StringIO('a,b\\r\\n\\r\\n"c\\r\\nd",e\\r\\n')), "a.csv", report))
    [(1, ['a', 'b']), (3, ['c\\r\\nd', 'e'])]
    >>> list(csv_records(csv.reader(io.StringIO('a,"b'), strict=True), "a.csv", report))
    Traceback (most recent call last):
    exlab.errors.CorruptInput: a.csv, line 1: expected the closing quote of the last cell (the file ends inside a quoted cell: it was cut short)
    """
    while True:
        line = records.line_num + 1
        try:
            cells = next(records)
        except StopIteration:
            return
        except csv.Error as err:
            if "end of data" in str(err):
                raise CorruptInput(source, f"line {line}", "the closing quote of the last cell",
                                   "the file ends inside a quoted cell: it was cut short") from None
            report.skip_record(f"line {line}", f"not a CSV record ({err})")
            continue
        if cells and cells != [""]:
            yield line, cells
