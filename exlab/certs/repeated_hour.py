"""NotBefore/NotAfter of Get-ExchangeCertificate's text exports in the hour the clocks go back over.

Format-List and Export-Csv print dates in the server's local time without an offset (the table shows none). A
time in the hour the clocks go back over comes twice (2024-10-27 02:30 in Europe/Warsaw is 00:30 or
01:30 UTC), and an hour can move the verdict on whether a certificate had expired when mail failed.
The readers read it as the first pass and keep both on the row (:class:`RepeatedDate`, in
``_repeated``). Once every file is read, a file with the certificate's exact times (the certificate
itself: a .cer, .pem, .pfx or RawData; an export with offsets) settles the reading, which is noted;
otherwise the engineer is warned, once per file, with each certificate and both readings in UTC
(:func:`exlab.daylight_saving.tell_passes`, as the event readers say it), and the frame keeps the second
reading beside the date (:data:`exlab.certs.merge.LATER_COLUMNS`, :func:`with_later_readings`), so that what
judges the certificate at a time can tell when the hour matters (:func:`exlab.certs.selection.unsure_usable`).

>>> from exlab.parse_report import FileReport
>>> date = local_to_utc(datetime(2024, 10, 27, 2, 30), "Europe/Warsaw")
>>> date = date._replace(name="NotAfter", column="not_after", where="certificate 1")
>>> listed = {"thumbprint": "AB" * 20, "not_after": date.first, "_repeated": [date], "source": "fl.txt"}
>>> exact = {"thumbprint": "AB" * 20, "not_after": date.second, "source": "mail.cer"}
>>> rows, told = settle_repeated([listed, exact])
>>> rows[0]["not_after"], told[0].by
(Timestamp('2024-10-27 01:30:00+0000', tz='UTC'), 'mail.cer')
>>> report = FileReport("fl.txt", "", "exchange-list")
>>> tell_repeated(told, {"fl.txt": report}, "Europe/Warsaw")
>>> print(report.warnings[0])     # doctest: +NORMALIZE_WHITESPACE
the local time 2024-10-27 02:30:00 comes twice in Europe/Warsaw (its clocks go back over that hour): 1 date(s)
at such times read as the first or the second pass as a file with the certificate's exact times tells:
NotAfter of ABABABABABABABABABABABABABABABABABABABAB (certificate 1) as in mail.cer

Without the certificate file, the first reading stays, the second beside it:

>>> alone, _ = settle_repeated([listed])
>>> alone[0]["not_after"], alone[0]["not_after_later"]
(Timestamp('2024-10-27 00:30:00+0000', tz='UTC'), Timestamp('2024-10-27 01:30:00+0000', tz='UTC'))
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from typing import NamedTuple

import pandas as pd

from exlab.certs.merge import LATER_COLUMNS, certificate_key, file_of
from exlab.certs.schema import OUT_OF_RANGE, utc_timestamp
from exlab.daylight_saving import Teller, tell_passes, utc_passes
from exlab.parse_report import FileReport

DATE_COLUMNS = ("not_before", "not_after")
BY_CERTIFICATE = Teller("date(s)", "as a file with the certificate's exact times tells",
                        "no file with the certificate's exact times (its .cer or .pem, an export with offsets) "
                        "tells which pass")


class RepeatedDate(NamedTuple):
    """A date an export printed in the hour the clocks go back over, with both readings in UTC."""

    local: datetime | None   # as printed (None: read back from a frame)
    first: pd.Timestamp      # the first pass: the row's value until something settles it
    second: pd.Timestamp     # the second pass, an hour later
    name: str = ""           # the property: NotBefore, NotAfter
    column: str = ""         # its column: not_before, not_after
    where: str = ""          # the record in its file


class Told(NamedTuple):
    """How one repeated date of one file was read: ``by`` the file whose exact time settled it, or None
    (read as the first pass)."""

    source: str
    thumbprint: str
    date: RepeatedDate
    by: str | None


def local_to_utc(local: datetime, tz: str | None) -> pd.Timestamp | RepeatedDate:
    """A naive local time in ``tz`` (UTC when None) in UTC, or both its readings when ``tz``'s clocks go
    back over it (:func:`exlab.daylight_saving.utc_passes`); ValueError outside the years the frame holds.

    >>> local_to_utc(datetime(2024, 10, 27, 3, 30), "Europe/Warsaw")
    Timestamp('2024-10-27 02:30:00+0000', tz='UTC')
    >>> [str(stamp.time()) for stamp in local_to_utc(datetime(2024, 11, 3, 1, 30), "America/New_York")[1:3]]
    ['05:30:00', '06:30:00']
    """
    try:
        first, second = (utc_timestamp(moment) for moment in utc_passes(local, tz))
    except OverflowError:       # a damaged year 1 or 9999 that the offset takes past the calendar
        first = second = None
    if first is None or second is None:
        raise ValueError(OUT_OF_RANGE)
    return first if first == second else RepeatedDate(local, first, second)


def settle_repeated(rows: list[dict]) -> tuple[list[dict], list[Told]]:
    """The rows with each repeated date (``_repeated``) settled where another row of the same
    certificate gives one of its readings as an exact time (the reading is then that one; otherwise
    the first, with the second in its :data:`~exlab.certs.merge.LATER_COLUMNS` column), and how each was
    read. Rows with repeated dates are copied, the others kept."""
    exact = _exact_times(rows)
    settled: list[dict] = []
    told: list[Told] = []
    for row in rows:
        if row.get("_repeated"):
            row = dict(row)
            told.extend(_settle(row, exact.get(certificate_key(row), {})))
        settled.append(row)
    return settled, told


def _exact_times(rows: list[dict]) -> dict[str, dict[tuple[str, pd.Timestamp], str]]:
    """Per certificate, each (date column, time to the second) a row gives that it did not read in a
    repeated hour, and the first file giving it (:func:`~exlab.certs.merge.file_of`)."""
    exact: dict[str, dict[tuple[str, pd.Timestamp], str]] = {}
    for row in rows:
        repeated = {date.column for date in row.get("_repeated") or ()}
        for column in DATE_COLUMNS:
            value = row.get(column)
            if column not in repeated and isinstance(value, pd.Timestamp):
                exact.setdefault(certificate_key(row), {}).setdefault((column, value.floor("s")), file_of(row))
    return exact


def _settle(row: dict, exact: dict[tuple[str, pd.Timestamp], str]) -> list[Told]:
    """Set each repeated date of ``row`` to the reading ``exact`` gives, else the first (and its later
    column to the second); how each was read."""
    told = []
    for date in row["_repeated"]:
        reading, by = next(((stamp, exact[date.column, stamp.floor("s")]) for stamp in (date.first, date.second)
                            if (date.column, stamp.floor("s")) in exact), (date.first, None))
        row[date.column] = reading
        row[LATER_COLUMNS[date.column]] = date.second if by is None else None
        told.append(Told(row["source"], row["thumbprint"], date, by))
    return told


def settle_later(rows: list[dict]) -> tuple[list[dict], list[Told]]:
    """Rows of frames read apart (the store's batches, :func:`exlab.fleet.read.merge_certs`) with each date
    their read left unsettled (its later column) settled as :func:`settle_repeated` settles it, where a row
    of the same certificate read elsewhere gives one of its readings exactly; and how each was read (for
    :func:`retell`).

    >>> first, second = pd.Timestamp("2026-10-25 00:30", tz="UTC"), pd.Timestamp("2026-10-25 01:30", tz="UTC")
    >>> listed = {"thumbprint": "AB" * 20, "not_after": first, "not_after_later": second, "source": "EX01/fl.txt"}
    >>> exact = {"thumbprint": "AB" * 20, "not_after": second, "source": "certs/mail.cer"}
    >>> settled, told = settle_later([listed, exact])
    >>> settled[0]["not_after"], settled[0]["not_after_later"], told[0].by
    (Timestamp('2026-10-25 01:30:00+0000', tz='UTC'), None, 'certs/mail.cer')
    """
    def repeated(row: dict) -> dict:
        dates = [RepeatedDate(None, row[column], row[later], column=column) for column, later in LATER_COLUMNS.items()
                 if isinstance(row.get(later), pd.Timestamp) and isinstance(row.get(column), pd.Timestamp)]
        return {**row, "_repeated": dates} if dates else row
    return settle_repeated([repeated(row) for row in rows])


def with_later_readings(frame: pd.DataFrame, rows: list[dict]) -> pd.DataFrame:
    """The certificates frame ``frame`` of ``rows`` (:func:`exlab.certs.schema.certs_frame`) with the
    second reading of each date left unsettled (:data:`~exlab.certs.merge.LATER_COLUMNS`, UTC; NaT when
    the date is sure), from the rows' own.

    >>> from exlab.certs.schema import certs_frame
    >>> rows = [{"thumbprint": "AB" * 20, "not_after": pd.Timestamp("2026-10-25 00:30", tz="UTC"),
    ...          "not_after_later": pd.Timestamp("2026-10-25 01:30", tz="UTC")}, {"thumbprint": "CD" * 20}]
    >>> with_later_readings(certs_frame(rows), rows)["not_after_later"].tolist()
    [Timestamp('2026-10-25 01:30:00+0000', tz='UTC'), NaT]
    """
    return frame.assign(**{later: pd.to_datetime(pd.Series([row.get(later) for row in rows], dtype="object",
                                                           index=frame.index), utc=True).astype(frame[column].dtype)
                           for column, later in LATER_COLUMNS.items()})


def tell_repeated(told: list[Told], reports: Mapping[str, FileReport], tz: str | None) -> None:
    """Say in each file's report how its repeated dates were read: one note for those settled, one
    AssumptionWarning (at the first of them) for the others, each named with its certificate and, when
    unsettled, both readings in UTC."""
    by_file: dict[tuple[str, bool], list[Told]] = {}
    for item in told:
        by_file.setdefault((item.source, item.by is not None), []).append(item)
    for (source, settled), items in by_file.items():
        first = items[0].date
        tell_passes(reports[source], first.local, tz, len(items), settled=settled, where=first.where,
                    teller=BY_CERTIFICATE, detail=": " + "; ".join(map(_detail, items)))


def retell(told: list[Told], reports: Mapping[str, FileReport]) -> None:
    """Say in the report of each file whose dates ``told`` settles (:func:`settle_later`: its file's
    dates settled by frames read apart, each item ``source`` one file) what a read of all the files says
    (:func:`tell_repeated`): those dates move from the file's warning of dates no file settled to its note
    of those settled, in the place of the file's earlier words on the hour.

    >>> import warnings
    >>> report = FileReport("fl.txt", "", "exchange-list")
    >>> date = local_to_utc(datetime(2024, 10, 27, 2, 30), "Europe/Warsaw")
    >>> date = date._replace(name="NotAfter", column="not_after", where="certificate 1")
    >>> with warnings.catch_warnings(record=True):
    ...     tell_repeated([Told("fl.txt", "AB" * 20, date, None)], {"fl.txt": report}, "Europe/Warsaw")
    >>> retell([Told("fl.txt", "AB" * 20, date, "mail.cer")], {"fl.txt": report})
    >>> print(report.warnings[0])     # doctest: +NORMALIZE_WHITESPACE
    the local time 2024-10-27 02:30:00 comes twice in Europe/Warsaw (its clocks go back over that hour): 1 date(s)
    at such times read as the first or the second pass as a file with the certificate's exact times tells:
    NotAfter of ABABABABABABABABABABABABABABABABABABABAB (certificate 1) as in mail.cer
    """
    settled = {(item.source, item.thumbprint, item.date.column, item.date.first.floor("s")): item.by
               for item in told if item.by is not None}
    for file in dict.fromkeys(source for source, *_ in settled):
        report = reports.get(file)
        if report is None:
            continue
        places, items, tz = _told_in(report)
        again = [item if item.by is not None else item._replace(by=settled.get(
                 (file, item.thumbprint, item.date.column, item.date.first.floor("s")))) for item in items]
        if again == items:
            continue
        fresh = FileReport(file, "", "")
        tell_repeated(sorted(again, key=lambda item: [int(n) for n in re.findall(r"\d+", item.date.where)]),
                      {file: fresh}, tz)
        for place in reversed(places):
            del report.warnings[place]
        report.warnings[places[0]:places[0]] = fresh.warnings


# what tell_repeated's words name: the local time and zone, and each date told (_detail)
_TWICE = re.compile(r"the local time (?P<local>[\d-]+ [\d:.]+) comes twice in (?P<tz>.+?) \(")
_TOLD = re.compile(r"(?P<name>\w+) of (?P<thumbprint>[0-9A-F]{40}) \((?P<where>[^()]*)\)(?:: (?P<first>[\d-]+ [\d:]+) "
                   r"or (?P<second>[\d-]+ [\d:]+) UTC| as in (?P<by>.*?))(?=; \w+ of [0-9A-F]{40} \(|$)")


def _told_in(report: FileReport) -> tuple[list[int], list[Told], str | None]:
    """What the report says of its dates in the hour the clocks go back over (:func:`tell_repeated`'s
    note and warning): their places among its warnings, each date told, and the zone. A date told as
    settled keeps its readings unknown; the first of each is at the local time the words name
    (:func:`retell`'s example reads back what :func:`tell_repeated` wrote)."""
    places, told, tz = [], [], None
    for place, text in enumerate(report.warnings):
        twice = _TWICE.search(text)
        if twice is None or (BY_CERTIFICATE.settled_by not in text and BY_CERTIFICATE.unsettled not in text):
            continue
        places.append(place)
        tz = twice["tz"]
        for index, item in enumerate(_TOLD.finditer(text, twice.end())):
            first, second = (pd.Timestamp(item[name], tz="UTC") if item[name] else None for name in ("first", "second"))
            local = (datetime.fromisoformat(twice["local"]) if index == 0
                     else first.tz_convert(tz).tz_localize(None).to_pydatetime() if first is not None else None)
            column = re.sub(r"(?<!^)(?=[A-Z])", "_", item["name"]).lower()      # NotAfter: not_after
            told.append(Told(report.file, item["thumbprint"],
                             RepeatedDate(local, first, second, item["name"], column, item["where"]), item["by"]))
    return places, told, tz


def _detail(item: Told) -> str:
    """One repeated date: its certificate, and the file that settled it or both readings.

    >>> date = RepeatedDate(datetime(2024, 11, 3, 1, 30), pd.Timestamp("2024-11-03 05:30", tz="UTC"),
    ...                     pd.Timestamp("2024-11-03 06:30", tz="UTC"), "NotAfter", "not_after", "line 2")
    >>> _detail(Told("certs.csv", "AB" * 20, date, None))
    'NotAfter of ABABABABABABABABABABABABABABABABABABABAB (line 2): 2024-11-03 05:30:00 or 2024-11-03 06:30:00 UTC'
    """
    date = item.date
    named = f"{date.name} of {item.thumbprint} ({date.where})"
    if item.by is not None:
        return f"{named} as in {item.by}"
    return f"{named}: {date.first:%Y-%m-%d %H:%M:%S} or {date.second:%Y-%m-%d %H:%M:%S} UTC"
