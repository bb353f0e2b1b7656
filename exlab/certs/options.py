"""The options of one ``read_certs`` call, handed to every format reader.

>>> ReadOptions.build(password="secret", tz="Europe/Warsaw").password
b'secret'
>>> ReadOptions.build(culture="pl-PL").culture
'pl-PL'
>>> ReadOptions.build(tz="Warsaw")
Traceback (most recent call last):
...
ValueError: tz must be an IANA time zone such as 'Europe/Warsaw', not 'Warsaw'
"""

from __future__ import annotations

from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from exlab.cultures import DATE_FORMATS


@dataclass(frozen=True)
class ReadOptions:
    """``password`` opens PKCS#12 files; ``tz`` is the server's time zone for exports that
    write local times without an offset (None: UTC, noted in the parse report); ``culture``
    (e.g. ``en-US``, ``pl-PL``) fixes the date order when a file does not reveal it."""

    password: bytes | None = None
    tz: str | None = None
    culture: str | None = None

    @classmethod
    def build(cls, *, password: str | bytes | None = None, tz: str | None = None,
              culture: str | None = None) -> ReadOptions:
        """Normalise user arguments (a text password becomes UTF-8; ``tz`` must be an IANA name)."""
        if isinstance(password, str):
            password = password.encode("utf-8")
        if tz is not None:
            try:
                ZoneInfo(tz)
            except (ZoneInfoNotFoundError, ValueError):
                raise ValueError(f"tz must be an IANA time zone such as 'Europe/Warsaw', not {tz!r}") from None
        if culture is not None and culture not in DATE_FORMATS:
            raise ValueError(f"culture must be one of {', '.join(DATE_FORMATS)}, not {culture!r}")
        return cls(password=password, tz=tz, culture=culture)
