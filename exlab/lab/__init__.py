"""The lab: synthetic evidence written the way Windows and Exchange write it.

>>> from exlab.lab import write_evtx
>>> callable(write_evtx)
True
"""

from __future__ import annotations

from exlab.lab.evtx_writer import EvtxWritten, write_evtx

__all__ = [
    "EvtxWritten",
    "write_evtx",
]
