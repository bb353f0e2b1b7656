"""Event exports (.evtx, XML, Event Viewer CSV/TXT, CliXml) into the events frame."""

from exlab.events.reader import read_events

__all__ = ["read_events"]
