"""The times of a cmdlet's output (Get-MessageTrackingLog, Get-Queue) to ns since the epoch (UTC), whatever
the shape it was exported in.

Export-Clixml writes a ``<DT>`` with the server's offset; ConvertTo-Json ``\\/Date(ms)\\/`` (Windows
PowerShell 5.1: UTC) or ISO 8601 with the offset (PowerShell 7); Format-List and Export-Csv the server's
local time in its culture, read in the culture and time zone given (or settled by the values, or UTC
assumed: :mod:`exlab.events.local_time`). A short date with a two-digit year (``15-01-21 23:50:05``, a
``dd-MM-yy`` the user set in the Region settings) is read as 20yy: no Exchange server wrote a date before 2000.

>>> from exlab.events.query import EventQuery
>>> from exlab.parse_report import FileReport
>>> report = FileReport("queues.txt", "", "queue-export")
>>> times, unread = export_times(["15-01-21 23:50:05", "/Date(0)/", None, "soon", 7], EventQuery.build(tz="UTC"),
...                              report, "LastRetryTime")
>>> times, unread[4]
([1610754605000000000, 0, None, None, None], "a LastRetryTime that reads as no date: '7'")
>>> unread[3]
"LastRetryTime 'soon' is not written as the file's other dates (20-03-2025 14:15:04)"
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from exlab.certs.exchange_json import json_time
from exlab.clixml import ClixmlDateTime, parse_datetime
from exlab.events.local_time import date_style, local_time, local_to_utc
from exlab.events.query import EventQuery
from exlab.parse_report import FileReport
from exlab.value_ranges import fits

_JSON_DATE = re.compile(r"^/Date\(-?\d+\)/$|^\d{4}-\d{2}-\d{2}T")
# a short date whose year comes last in two digits (dd-MM-yy, M/d/yy), and the space after it
_TWO_DIGIT_YEAR = re.compile(r"^(\d{1,2})([-./])(\d{1,2})\2(\d{2})(?=\s)")


def export_times(values: Sequence[Any], query: EventQuery, report: FileReport,
                 names: str | Sequence[str]) -> tuple[list[int | None], dict[int, str]]:
    """Each value (a ``<DT>``, a ConvertTo-Json date or a local time's text; None or empty for none) in ns since
    the epoch (UTC), None where there is none or it does not read, and why not by index. ``names``: the property
    each value is of (one for all), for those reasons. The local times of one file are read in one culture,
    and in the order given where the clocks go back (:func:`exlab.events.local_time.local_to_utc`)."""
    named = [names] * len(values) if isinstance(names, str) else list(names)
    out: list[int | None] = [None] * len(values)
    unread: dict[int, str] = {}
    texts: dict[int, str] = {}
    naive: dict[int, datetime] = {}
    for index, value in enumerate(values):
        if isinstance(value, ClixmlDateTime):
            out[index] = value.nanoseconds
        elif _is_json_date(value):
            moment = _json_moment(value)
            if isinstance(moment, int):
                out[index] = moment
            elif moment is None:
                unread[index] = f"a {named[index]} that reads as no date: {str(value)[:40]!r}"
            else:
                naive[index] = moment
        elif isinstance(value, str):
            if value.strip():
                texts[index] = value.strip()
        elif value is not None:
            unread[index] = f"a {named[index]} that reads as no date: {str(value)[:40]!r}"
    if texts:
        _widen_years(texts, report)
        dates = date_style(list(texts.values()), query, report, where=f"the {', '.join(dict.fromkeys(named))} values")
        for index, text in texts.items():
            try:
                naive[index] = local_time(text, dates, named[index])
            except ValueError as err:
                unread[index] = str(err)
    if naive:
        order = sorted(naive)
        for index, ns in zip(order, local_to_utc(query, report)([naive[i] for i in order], [i + 1 for i in order])):
            out[index] = ns
    for index, ns in enumerate(out):
        if ns is not None and not fits(ns, "time"):
            out[index] = None
            unread[index] = f"a {named[index]} outside the years 1677-2262 the frame can hold: {values[index]!s:.40}"
    return out, unread


def _widen_years(texts: dict[int, str], report: FileReport) -> None:
    """Write each two-digit year of ``texts`` (by index) as 20yy, in place, and note it in ``report``.

    >>> texts = {0: "15-01-21 23:50:05", 1: "20.03.2025 14:15:04"}
    >>> _widen_years(texts, FileReport("q.txt", "", "queue-export")); texts
    {0: '15-01-2021 23:50:05', 1: '20.03.2025 14:15:04'}
    """
    first = None
    for index, text in texts.items():
        widened = _TWO_DIGIT_YEAR.sub(r"\1\2\3\g<2>20\4", text, count=1)
        if widened != text:
            first = first or text
            texts[index] = widened
    if first is not None:
        report.note(f"local times written with a two-digit year ({first!r}: a custom short date such as dd-MM-yy) "
                    "were read as 20yy")


def _json_moment(value: Any) -> int | datetime | None:
    """A ConvertTo-Json date: ns since the epoch (``/Date(ms)/``; ISO 8601 with an offset, all seven digits
    of PowerShell 7 kept), or the naive local time of an ISO one without; None when it is no date.

    >>> _json_moment("2025-03-20T11:49:14.2431234+01:00"), _json_moment("/Date(1742467754243)/")
    (1742467754243123400, 1742467754243000000)
    >>> _json_moment({"value": "/Date(0)/", "DisplayHint": 2}), _json_moment("/Date(99999999999999999999)/")
    (0, None)
    """
    if isinstance(value, dict):        # ETS-wrapped: {"value": ..., "DisplayHint": ...}
        value = value.get("value")
    if not isinstance(value, str):
        return None
    if not value.startswith("/Date("):
        try:
            moment = parse_datetime(value)
        except ValueError:
            return None
        return moment.nanoseconds if moment.offset is not None else moment.to_datetime()
    try:
        return json_time(value).value
    except (ValueError, OverflowError):
        return None


def _is_json_date(value: Any) -> bool:
    """Whether a time is as ConvertTo-Json writes it (``/Date(ms)/``, ISO 8601, or ETS-wrapped).

    >>> _is_json_date("/Date(1742467754243)/"), _is_json_date("3/20/2025 11:49:14 AM")
    (True, False)
    """
    if isinstance(value, dict):
        value = value.get("value")
    return isinstance(value, str) and _JSON_DATE.match(value) is not None
