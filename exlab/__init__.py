"""exlab: a forensic notebook kit for Exchange engineers.

Read the evidence exported from an Exchange server into pandas frames, and confirm or
rule out KB 2888788 (two SMTP certificates for one name, the internal one presented to
Exchange Online, ``454 4.7.0 ... UntrustedRoot``).

``import exlab`` is quick: each name below is imported on first use (so the command
line starts at once, and the worker processes that read big .evtx files load only
the event readers).

>>> import exlab
>>> issubclass(exlab.CorruptInput, exlab.ExlabError)
True
>>> exlab.transport.classify(exlab.parse_smtp_reply("454 4.7.0 Failed to establish "
...     "appropriate TLS channel: UntrustedRoot"))
'untrusted-root'
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from exlab.errors import (
    CorruptInput,
    DataLossWarning,
    EvidenceChanged,
    EvidenceNotFound,
    ExlabError,
    ExlabWarning,
    NoEvidence,
    UnsupportedFormat,
    WrongPassword,
)

__version__ = "0.1.0"

# public name -> the module that defines it (imported when the name is first used)
_LAZY = {
    "compare_issuers": "exlab.certs",
    "judge_trust": "exlab.certs",
    "read_certs": "exlab.certs",
    "select_outbound": "exlab.certs",
    "read_events": "exlab.events",
    "ParseReport": "exlab.parse_report",
    "name_fields": "exlab.transport",
    "parse_smtp_reply": "exlab.transport",
    "read_connectors": "exlab.transport",
    "read_protocol_log": "exlab.transport",
    "read_queues": "exlab.transport",
    "read_receive_connectors": "exlab.transport",
    "read_servers": "exlab.transport",
    "read_tracking_export": "exlab.transport",
    "read_tracking_log": "exlab.transport",
    "tls_failures": "exlab.transport",
    "Diagnosis": "exlab.analysis",
    "diagnose": "exlab.analysis",
    "Case": "exlab.case",
    "open_case": "exlab.case",
}
_SUBPACKAGES = ("analysis", "case", "certs", "events", "fleet", "lab", "plots", "report", "transport")

if TYPE_CHECKING:
    from exlab.analysis import Diagnosis, diagnose
    from exlab.case import Case, open_case
    from exlab.certs import compare_issuers, judge_trust, read_certs, select_outbound
    from exlab.events import read_events
    from exlab.parse_report import ParseReport
    from exlab.transport import (
        name_fields,
        parse_smtp_reply,
        read_connectors,
        read_protocol_log,
        read_queues,
        read_receive_connectors,
        read_servers,
        read_tracking_export,
        read_tracking_log,
        tls_failures,
    )


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
    elif name in _SUBPACKAGES:
        value = importlib.import_module(f"exlab.{name}")
    else:
        raise AttributeError(f"module 'exlab' has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY, *_SUBPACKAGES})


__all__ = [
    "Case",
    "CorruptInput",
    "DataLossWarning",
    "Diagnosis",
    "EvidenceChanged",
    "EvidenceNotFound",
    "ExlabError",
    "ExlabWarning",
    "NoEvidence",
    "ParseReport",
    "UnsupportedFormat",
    "WrongPassword",
    "__version__",
    "compare_issuers",
    "diagnose",
    "judge_trust",
    "name_fields",
    "open_case",
    "parse_smtp_reply",
    "read_certs",
    "read_connectors",
    "read_events",
    "read_protocol_log",
    "read_queues",
    "read_receive_connectors",
    "read_servers",
    "read_tracking_export",
    "read_tracking_log",
    "select_outbound",
    "tls_failures",
]
