"""Event exports (.evtx, XML, Event Viewer CSV/TXT, CliXml, CSV, JSON, Format-List) into the events frame.

``read_events`` is imported on first use, so the worker processes that read big .evtx
files (``exlab.events.evtx_workers``) start without pandas.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from exlab.events.reader import read_events


def __getattr__(name: str) -> Any:
    if name != "read_events":
        raise AttributeError(f"module 'exlab.events' has no attribute {name!r}")
    from exlab.events.reader import read_events
    return read_events


__all__ = ["read_events"]
