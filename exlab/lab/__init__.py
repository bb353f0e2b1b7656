"""The lab: synthetic evidence written the way Windows and Exchange write it.

>>> from exlab.lab import write_evtx
>>> callable(write_evtx)
True
"""

from __future__ import annotations

from exlab.lab.cases import case, names
from exlab.lab.evtx_writer import EvtxWritten, write_evtx
from exlab.lab.generate import Generated, generate_all, generate_case
from exlab.lab.scenario import History, Scenario, simulate

__all__ = [
    "Generated",
    "History",
    "Scenario",
    "case",
    "generate_all",
    "generate_case",
    "names",
    "simulate",
    "EvtxWritten",
    "write_evtx",
]
