"""The options of one ``read_certs`` call, handed to every format reader.

>>> ReadOptions.build(password="secret", tz="Europe/Warsaw").password
b'secret'
>>> ReadOptions.build(culture="pl-PL").culture
'pl-PL'
"""

from __future__ import annotations

from dataclasses import dataclass
from zoneinfo import ZoneInfo


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
            ZoneInfo(tz)   # raises ZoneInfoNotFoundError for a name that is not a time zone
        return cls(password=password, tz=tz, culture=culture)
