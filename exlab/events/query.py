"""Which events a read should keep, checked as early as each format allows.

>>> q = EventQuery.build(event_ids=[2004], providers=["MSExchangeTransport"], start="2025-03-20")
>>> q.wants_event_id(2004), q.wants_event_id(7036)
(True, False)
>>> q.wants_provider("msexchangetransport")
True
>>> q.wants_time(None)  # a record without a usable time is kept unless a range is asked for
False
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from exlab.cultures import DATE_FORMATS

if TYPE_CHECKING:
    import pandas as pd

ENGINES = ("auto", "evtx", "python-evtx")


@dataclass(frozen=True)
class EventQuery:
    """Filters and options of one ``read_events`` call.

    ``start``/``end`` are nanoseconds since the epoch (UTC), inclusive/exclusive.
    ``tz`` is the server's time zone for exports that carry local times without offset.
    ``workers`` is how many processes may read one big .evtx file (None: one per core).
    ``culture`` (e.g. ``en-GB``) fixes the day/month order of exports with local dates where
    the values do not tell it (Event Viewer CSV/TXT).
    """

    event_ids: frozenset[int] | None = None
    providers: frozenset[str] | None = None   # lower-cased
    start: int | None = None
    end: int | None = None
    engine: str = "auto"
    tz: str | None = None
    workers: int | None = None
    culture: str | None = None

    @classmethod
    def build(cls, *, event_ids: Iterable[int] | int | None = None,
              providers: Iterable[str] | str | None = None,
              start: str | datetime | pd.Timestamp | None = None,
              end: str | datetime | pd.Timestamp | None = None,
              engine: str = "auto", tz: str | None = None, workers: int | None = None,
              culture: str | None = None) -> EventQuery:
        """Normalise user arguments; naive ``start``/``end`` are read as UTC."""
        if engine not in ENGINES:
            raise ValueError(f"engine must be one of {ENGINES}, not {engine!r}")
        if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int) or workers < 1):
            raise ValueError(f"workers must be a whole number of at least 1 (or None: one per core), "
                             f"not {workers!r}")
        if culture is not None and culture not in DATE_FORMATS:
            raise ValueError(f"culture must be one of {', '.join(DATE_FORMATS)}, not {culture!r}")
        if isinstance(event_ids, int):
            event_ids = [event_ids]
        if isinstance(providers, str):
            providers = [providers]
        return cls(
            event_ids=frozenset(int(i) for i in event_ids) if event_ids is not None else None,
            providers=frozenset(p.lower() for p in providers) if providers is not None else None,
            start=_to_ns(start),
            end=_to_ns(end),
            engine=engine,
            tz=tz,
            workers=workers,
            culture=culture,
        )

    @property
    def has_time_range(self) -> bool:
        return self.start is not None or self.end is not None

    def wants_event_id(self, event_id: int | None) -> bool:
        return self.event_ids is None or event_id in self.event_ids

    def wants_provider(self, provider: str | None) -> bool:
        return self.providers is None or (provider or "").lower() in self.providers

    def wants_time(self, ns: int | None) -> bool:
        if not self.has_time_range:
            return True
        if ns is None:
            return False
        return (self.start is None or ns >= self.start) and (self.end is None or ns < self.end)

    def wants(self, row: dict) -> bool:
        """All filters on a finished row (formats that cannot filter earlier use this)."""
        return (self.wants_event_id(row.get("event_id")) and self.wants_provider(row.get("provider"))
                and self.wants_time(row.get("time_created")))


def _to_ns(value: str | datetime | pd.Timestamp | None) -> int | None:
    if value is None:
        return None
    import pandas as pd   # here, not at the top: worker processes start without pandas

    stamp = pd.Timestamp(value)
    if stamp.tzinfo is None:
        stamp = stamp.tz_localize("UTC")
    return int(stamp.tz_convert("UTC").value)
