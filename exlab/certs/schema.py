"""The certificates frame: one row per certificate, whatever export described it.

Readers produce rows as plain dicts keyed by :data:`COLUMNS` (a key left out means the
export did not say); :func:`certs_frame` turns them into the frame with the public
dtypes of CONTRIBUTING.md. ``not_before`` / ``not_after`` in a row are UTC
``pd.Timestamp`` values or ``None``; lists (``dns_names``, ``services``, ``conflicts``)
are tuples; ``der`` is ``bytes`` or ``None``.

>>> import pandas as pd
>>> frame = certs_frame([{"thumbprint": "3F2A9C01D4E8B7766A5C0B1E92D4F0A8C3B71E55",
...     "subject": "CN=mail.contoso.com", "services": ("IMAP", "POP", "IIS", "SMTP"),
...     "not_after": pd.Timestamp("2027-03-14 08:12:05", tz="UTC"), "has_private_key": True,
...     "source": "certs.txt"}])
>>> frame.loc[0, "not_after"]
Timestamp('2027-03-14 08:12:05+0000', tz='UTC')
>>> frame.loc[0, "services"], frame.loc[0, "conflicts"], frame.loc[0, "der"] is None
(('IMAP', 'POP', 'IIS', 'SMTP'), (), True)
>>> str(frame["has_private_key"].dtype), str(frame["public_key_size"].dtype)
('boolean', 'Int32')
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

import pandas as pd

from exlab.attribution import source_files
from exlab.value_ranges import count_lost, fit_integers

# column -> dtype, in the order of the public contract (CONTRIBUTING.md).
DTYPES: dict[str, str] = {
    "thumbprint": "string",
    "subject": "string",
    "issuer": "string",
    "dns_names": "object",
    "not_before": "datetime64[ns, UTC]",
    "not_after": "datetime64[ns, UTC]",
    "serial_number": "string",
    "is_self_signed": "boolean",
    "has_private_key": "boolean",
    "services": "object",
    "status": "string",
    "root_ca_type": "string",
    "friendly_name": "string",
    "public_key_size": "Int32",
    "signature_hash": "string",
    "server_auth": "boolean",
    "server": "string",
    "source": "string",
    "der": "object",
    "conflicts": "object",
}
COLUMNS: tuple[str, ...] = tuple(DTYPES)

# The Exchange service names in the order Exchange prints them, with their flag values.
SERVICE_FLAGS: dict[str, int] = {
    "IMAP": 1, "POP": 2, "UM": 4, "IIS": 8, "SMTP": 16, "Federation": 32, "UMCallRouter": 64,
}
SERVICES: tuple[str, ...] = tuple(SERVICE_FLAGS)

Row = Mapping[str, Any]


#: why a time :func:`utc_timestamp` cannot hold is left NA
OUT_OF_RANGE = "outside the years 1677-2262 the frame can hold"


def utc_timestamp(value: datetime | pd.Timestamp) -> pd.Timestamp | None:
    """``value`` as a UTC Timestamp, or ``None`` when the frame's nanosecond range cannot hold it.

    Certificates valid "forever" say 9999-12-31, beyond 2262-04-11 where ``datetime64[ns]``
    ends; the caller notes such a loss in the parse report.

    >>> from datetime import datetime, timezone
    >>> utc_timestamp(datetime(2024, 12, 2, 13, 43, 23, tzinfo=timezone.utc))
    Timestamp('2024-12-02 13:43:23+0000', tz='UTC')
    >>> utc_timestamp(datetime(9999, 12, 31, 23, 59, 59, tzinfo=timezone.utc)) is None
    True
    """
    stamp = pd.Timestamp(value)
    stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
    try:
        return stamp.as_unit("ns")
    except (OverflowError, ValueError, pd.errors.OutOfBoundsDatetime):
        return None


def certs_frame(rows: Iterable[Row], report: Any = None) -> pd.DataFrame:
    """Build the certificates frame from row dicts; missing keys become NA.

    ``dns_names`` and ``conflicts`` default to ``()``; ``services`` and ``der`` to ``None``
    (no export said). ``report`` (a ParseReport) goes to ``attrs["parse_report"]``.

    >>> certs_frame([]).columns[:4].tolist()
    ['thumbprint', 'subject', 'issuer', 'dns_names']

    A number the column cannot hold is read as NA, counted in the file's report and warned of:

    >>> import warnings
    >>> from exlab.parse_report import ParseReport
    >>> report = ParseReport()
    >>> file = report.add_file("certs.csv", sha256="", format="exchange-csv")
    >>> with warnings.catch_warnings(record=True):
    ...     frame = certs_frame([{"thumbprint": "AB" * 20, "public_key_size": -2 ** 63, "source": "certs.csv"}], report)
    >>> frame.loc[0, "public_key_size"] is pd.NA, file.values_nulled, file.losses[0].where
    (True, 1, 'certificate ABABABABABABABABABABABABABABABABABABABAB')
    >>> with warnings.catch_warnings(record=True):
    ...     _ = certs_frame([{"public_key_size": 2 ** 40, "source": "certs.csv; certs.txt"}], report)
    >>> file.values_nulled, len(report.files)
    (2, 1)
    """
    rows = list(rows)
    lost: dict[str, tuple[list, list[int]]] = {}
    frame = pd.DataFrame({name: _column(name, [row.get(name) for row in rows], lost) for name in COLUMNS})
    if any(places for _, places in lost.values()):
        # a certificate several exports list ("a.txt; b.csv") is counted against the first of them
        listed = source_files(file.file for file in (report.files if report is not None else ()))
        count_lost(report, [listed(row.get("source") or "")[0] or None for row in rows],
                   lambda index: f"certificate {rows[index].get('thumbprint') or index + 1}", lost)
    if report is not None:
        frame.attrs["parse_report"] = report
    return frame


def _column(name: str, values: list, lost: dict[str, tuple[list, list[int]]]) -> pd.Series:
    """The typed column; a number its dtype cannot hold is read as NA, and ``lost[name]`` says where."""
    dtype = DTYPES[name]
    if dtype.startswith("datetime64"):
        stamps = [pd.NaT if v is None else v for v in values]
        return pd.Series(pd.to_datetime(pd.Series(stamps, dtype="object"), utc=True)).astype(dtype)
    if dtype == "object":
        if name in ("dns_names", "conflicts"):
            values = [tuple(v) if v is not None else () for v in values]
        else:
            values = [tuple(v) if isinstance(v, list) else v for v in values]
        series = pd.Series(pd.array([None] * len(values), dtype="object"), dtype="object")
        for i, value in enumerate(values):   # element-wise: pandas would unpack tuples
            series.iat[i] = value
        return series
    if dtype.startswith("Int"):
        fitted, places = fit_integers(values, dtype)
        lost[name] = (values, places)
        values = fitted
    return pd.Series(pd.array(values, dtype=dtype))
