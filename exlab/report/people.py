"""Frames turned into tables and words for people: what the report and the notebooks show.

A table for people has no index, no ``NaN``/``NaT``/``None``/``<NA>`` (an empty cell, or a
word where emptiness means something), no tuple or list reprs (``IMAP, POP, SMTP``),
durations in words (``5 years before the first failure``), one timestamp format
(:data:`TIME_FORMAT`) with the time zone named in the column header, and only the
columns chosen, under readable headers. Every cell is text (``string`` dtype), so a view
only has to escape and lay it out (:func:`html_table`).

>>> frame = pd.DataFrame({"time": pd.to_datetime(["2025-03-20 10:49:14", None], utc=True),
...     "services": [("IMAP", "SMTP"), None], "selected": [True, pd.NA]})
>>> people_table(frame, {"time": "first failure", "services": "services", "selected": "selected"},
...              tz="Europe/Warsaw").to_dict("list")  # doctest: +NORMALIZE_WHITESPACE
{'first failure (Europe/Warsaw)': ['2025-03-20 11:49:14', ''], 'services': ['IMAP, SMTP', ''],
 'selected': ['yes', '']}
"""

from __future__ import annotations

import math
import numbers
import re
from collections.abc import Collection, Mapping
from typing import Any

import numpy as np
import pandas as pd

from exlab.visible import visible_html

TIME_FORMAT = "%Y-%m-%d %H:%M:%S"
# how a people table (html_table) is laid out inside an element of class "exlab" (the report's
# page, a notebook's output), wherever it is shown: left-aligned, as wide as the page, long names
# wrapped rather than cut (``wide`` columns between words, and inside a word only where it does
# not fit: thumbprints, distinguished names; ``paths`` columns, file names, after a separator
# first, their column never narrower than their longest part between separators, even on a
# narrow screen). Time columns are as narrow as their date (the time below it, the zone in the
# header after its "/"): the room goes to the names first. A notebook's own style would centre
# the table and right-align its cells: two classes in each selector outweigh JupyterLab's.
# Colours and borders are the report's.
PEOPLE_LAYOUT = (".exlab table.people{width:100%;table-layout:auto;margin:4px 0 10px}"
                 ".exlab table.people caption{text-align:left;font-weight:600}"
                 ".exlab table.people th,.exlab table.people td{text-align:left;vertical-align:top;overflow-wrap:break-word}"
                 ".exlab table.people td.wrap,.exlab table.people th.wrap{overflow-wrap:anywhere}"
                 ".exlab table.people td.path{overflow-wrap:break-word}"
                 ".exlab table.people th.time{width:1px}.exlab table.people td.time span{white-space:nowrap}"
                 ".exlab td.nowrap,.exlab th.nowrap{white-space:nowrap}")
# where a file name or path may wrap: after each of these separators (a <wbr> follows it)
PATH_SEPARATORS = r"[/\\._-]"
# in a people table, not after the dot of an extension: a column there is never narrower than what
# lies between its breaks ("truth.json" whole, not "truth.|json"); a sortable table's columns may be
# squeezed narrower than any name, and break at every separator (PATH_SEPARATORS)
_NAME_BREAKS = re.compile(r"[/\\_-]|\.(?=[^./\\]*\.)")
# a time with its offset as exlab's own texts write it (ISO 8601 or pandas' str)
_ZONED_TIME = re.compile(r"\b\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2})")
# the largest unit first: a duration is said in the largest unit it holds at least once
_UNITS = (("year", pd.Timedelta(days=365.25)), ("month", pd.Timedelta(days=30.44)),
          ("week", pd.Timedelta(days=7)), ("day", pd.Timedelta(days=1)), ("hour", pd.Timedelta(hours=1)),
          ("minute", pd.Timedelta(minutes=1)), ("second", pd.Timedelta(seconds=1)))


def zone_name(tz: str | None) -> str:
    """The name of the zone times are shown in: the case's IANA zone, else UTC.

    >>> zone_name("Europe/Warsaw"), zone_name(None)
    ('Europe/Warsaw', 'UTC')
    """
    return tz or "UTC"


def missing(value: Any) -> bool:
    """Whether a cell holds nothing (None, NaN, NaT, NA); tuples and lists are values.

    >>> missing(pd.NA), missing(float("nan")), missing(pd.NaT), missing(()), missing(0)
    (True, True, True, False, False)
    """
    if value is None or isinstance(value, (tuple, list, dict, bytes, str)):
        return value is None
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def timestamp(value: Any, tz: str | None, *, named: bool = False) -> str:
    """A time in :data:`TIME_FORMAT`, in ``tz`` (UTC when None); the zone appended when
    ``named``; empty when missing. A time without a zone is taken as UTC.

    >>> timestamp(pd.Timestamp("2025-03-20 10:49:14.243", tz="UTC"), "Europe/Warsaw", named=True)
    '2025-03-20 11:49:14 Europe/Warsaw'
    >>> timestamp(None, "UTC")
    ''
    """
    if missing(value):
        return ""
    stamp = pd.Timestamp(value)
    stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp
    text = stamp.tz_convert(zone_name(tz)).strftime(TIME_FORMAT)
    return f"{text} {zone_name(tz)}" if named else text


def times_in_text(text: str, tz: str | None) -> str:
    """A sentence with the zoned times it quotes (ISO 8601, ``+00:00``) rewritten in
    :data:`TIME_FORMAT` in ``tz``, the zone named; local times quoted from evidence stay.

    >>> times_in_text("valid 2025-03-20 07:48:12+00:00 to 2027-03-20T07:48:12Z; read '3/20/2025 8:48'", "Europe/Warsaw")
    "valid 2025-03-20 08:48:12 Europe/Warsaw to 2027-03-20 08:48:12 Europe/Warsaw; read '3/20/2025 8:48'"
    """
    return _ZONED_TIME.sub(lambda match: timestamp(pd.Timestamp(match.group(0)), tz, named=True), text)


def duration(value: Any) -> str:
    """A duration in words, in its largest whole unit (rounded down), sign dropped.

    >>> duration(pd.Timedelta(days=1901, hours=22)), duration(pd.Timedelta(hours=-3, minutes=-5))
    ('5 years', '3 hours')
    >>> duration(pd.Timedelta(seconds=0.4)), duration(pd.NaT)
    ('less than a second', '')
    """
    if missing(value):
        return ""
    span = abs(pd.Timedelta(value))
    for unit, size in _UNITS:
        count = math.floor(span / size)
        if count >= 1:
            return f"{count} {unit}{'' if count == 1 else 's'}"
    return "less than a second"


def relative(value: Any, anchor: str) -> str:
    """An offset from a moment, in words: ``5 years before the first failure``.

    >>> relative(pd.Timedelta(days=-1901), "the first failure"), relative(pd.Timedelta(hours=2), "the onset")
    ('5 years before the first failure', '2 hours after the onset')
    >>> relative(pd.Timedelta(0), "the onset"), relative(pd.NaT, "the onset")
    ('at the onset', '')
    """
    if missing(value):
        return ""
    delta = pd.Timedelta(value)
    if abs(delta) < pd.Timedelta(seconds=1):
        return f"at {anchor}"
    return f"{duration(delta)} {'before' if delta < pd.Timedelta(0) else 'after'} {anchor}"


def count(number: int, noun: str, plural: str | None = None) -> str:
    """A number with its noun, singular or plural.

    >>> count(1, "server"), count(82560, "record"), count(2, "session reply", "session replies")
    ('1 server', '82,560 records', '2 session replies')
    """
    return f"{number:,} {noun if number == 1 else (plural or noun + 's')}"


def count_text(value: Any) -> str:
    """A count in a table cell, its thousands separated as :func:`count` writes them (anything
    else as :func:`cell_text` shows it).

    >>> import numpy as np
    >>> count_text(82560), count_text(np.int64(3)), count_text(2.0), count_text(None), count_text(pd.NA)
    ('82,560', '3', '2', '', '')
    """
    if isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_)) and float(value).is_integer():
        return f"{int(value):,}"
    return cell_text(value)


def cell_text(value: Any, tz: str | None = None) -> str:
    """One value as a person reads it: empty for missing, ``yes``/``no`` for truth values,
    lists joined with commas, times in :data:`TIME_FORMAT` in ``tz``, durations in words,
    whole floats without ``.0``.

    >>> [cell_text(v) for v in (None, True, ("IIS", "SMTP"), 3.0, pd.Timedelta(days=3), "CN=x")]
    ['', 'yes', 'IIS, SMTP', '3', '3 days', 'CN=x']
    """
    if isinstance(value, (tuple, list)):
        return ", ".join(cell_text(item, tz) for item in value if not missing(item))
    if missing(value):
        return ""
    if isinstance(value, (bool,)) or type(value).__name__ in ("bool_", "bool"):
        return "yes" if bool(value) else "no"
    if isinstance(value, pd.Timestamp) or hasattr(value, "tzinfo") and hasattr(value, "strftime"):
        return timestamp(value, tz)
    if isinstance(value, pd.Timedelta):
        return duration(value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dict):
        return "; ".join(f"{key}: {cell_text(item, tz)}" for key, item in value.items())
    return str(value)


def _is_time(series: pd.Series) -> bool:
    if isinstance(series.dtype, pd.DatetimeTZDtype) or pd.api.types.is_datetime64_any_dtype(series.dtype):
        return True
    present = series.dropna()
    return not present.empty and all(isinstance(value, pd.Timestamp) for value in present)


def people_table(frame: pd.DataFrame, columns: Mapping[str, str], *, tz: str | None = None,
                 words: Mapping[str, Mapping[Any, str]] | None = None, counts: Collection[str] = ()) -> pd.DataFrame:
    """``frame``'s ``columns`` (name -> header, in the order given) as text for people.

    Time columns get the zone in their header (``first failure (Europe/Warsaw)``), and their
    headers are listed in ``attrs["times"]`` (:func:`html_table` lays them out narrow);
    ``words`` maps a column's values to words (``{"selected": {True: "selected"}}``);
    the ``counts`` columns have their thousands separated (:func:`count_text`; an event id or
    a record number is not a count, and keeps its digits together);
    a value not mapped is shown by :func:`cell_text`. Columns the frame lacks are
    left out. The result has a plain 0..n-1 index that views never show.

    >>> frame = pd.DataFrame({"issuer_class": ["public", "internal"], "selected": [False, True],
    ...                       "event_id": [12014, 2004], "records": [82560, 3]})
    >>> people_table(frame, {"issuer_class": "issuer", "selected": "presented", "event_id": "event",
    ...                      "records": "records"}, words={"selected": {True: "presented", False: ""}},
    ...              counts=("records",)).values.tolist()
    [['public', '', '12014', '82,560'], ['internal', 'presented', '2004', '3']]
    """
    words = words or {}
    out = {}
    times = []
    for name, header in columns.items():
        if name not in frame:
            continue
        series = frame[name]
        mapping = words.get(name, {})
        if _is_time(series):
            header = f"{header} ({zone_name(tz)})"
            times.append(header)
        shown = count_text if name in counts else lambda value: cell_text(value, tz)
        out[header] = [mapping[value] if _mapped(mapping, value) else shown(value) for value in series]
    table = pd.DataFrame(out, index=pd.RangeIndex(len(frame)))
    table = table.astype("string") if len(table.columns) else table
    table.attrs["times"] = tuple(times)
    return table


def _mapped(mapping: Mapping[Any, str], value: Any) -> bool:
    try:
        return not missing(value) and value in mapping
    except TypeError:   # unhashable values are never mapped
        return False


def path_html(text: str) -> str:
    """A file name or path as escaped HTML that may wrap after each separator but its extension's dot (a ``<wbr>``,
    which adds no character to the text read or copied); of a list of files (``a; b``), each
    file on its own line.

    >>> path_html("certs/<b>_fl.txt; mail.contoso.com.cer")
    'certs/<wbr>&lt;b&gt;_<wbr>fl.txt; <br>mail.<wbr>contoso.<wbr>com.cer'
    """
    return "; <br>".join(_NAME_BREAKS.sub(r"\g<0><wbr>", visible_html(name)) for name in text.split("; "))


def html_table(table: pd.DataFrame, *, caption: str | None = None, classes: str = "people",
               wide: tuple[str, ...] = (), paths: tuple[str, ...] = ()) -> str:
    """A people table as an HTML ``<table>``: no index, every cell and header escaped
    (evidence text stays text), ``wide`` columns marked to wrap anywhere (thumbprints,
    distinguished names), ``paths`` columns (file names) to wrap after a separator first
    (:func:`path_html`, as headers do: a zone's ``/``), time columns (``attrs["times"]``) narrow.

    >>> print(html_table(pd.DataFrame({"name": ["<b>x</b>"]}), caption="Servers"))
    <table class="people"><caption>Servers</caption><thead><tr><th>name</th></tr></thead><tbody><tr><td>&lt;b&gt;x&lt;/b&gt;</td></tr></tbody></table>
    >>> html_table(pd.DataFrame({"file": ["a/b.log"]}), paths=("file",)).split("<tbody>")[1]
    '<tr><td class="path">a/<wbr>b.log</td></tr></tbody></table>'
    """
    e = visible_html
    times = table.attrs.get("times", ())
    kinds = ["path" if column in paths else "time" if column in times else "wrap" if column in wide else ""
             for column in table.columns]
    shown = {"path": path_html, "time": _words_html}
    marks = [f' class="{kind}"' if kind else "" for kind in kinds]
    head = "".join(f"<th{mark}>{path_html(str(column))}</th>" for mark, column in zip(marks, table.columns))
    rows = "".join("<tr>" + "".join(f"<td{mark}>{shown.get(kind, e)(cell_text(value))}</td>"
                                    for kind, mark, value in zip(kinds, marks, row)) + "</tr>"
                   for row in table.itertuples(index=False))
    title = f"<caption>{e(caption)}</caption>" if caption else ""
    return f'<table class="{e(classes)}">{title}<thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>'


def _words_html(text: str) -> str:
    """Escaped text whose words never break inside (a date's hyphens), only between them.

    >>> _words_html("2025-03-20 11:49:14")
    '<span>2025-03-20</span> <span>11:49:14</span>'
    """
    return " ".join(f"<span>{visible_html(word)}</span>" for word in text.split(" ")) if text else ""

