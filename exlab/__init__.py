"""exlab: a forensic notebook kit for Exchange engineers.

Read the evidence exported from an Exchange server into pandas frames, and confirm or
rule out KB 2888788 (two SMTP certificates for one name, the internal one presented to
Exchange Online, ``454 4.7.0 ... UntrustedRoot``).

>>> import exlab
>>> issubclass(exlab.CorruptInput, exlab.ExlabError)
True
"""

from __future__ import annotations

__version__ = "0.1.0"

from exlab.errors import (  # noqa: E402
    CorruptInput,
    DataLossWarning,
    EvidenceNotFound,
    ExlabError,
    ExlabWarning,
    UnsupportedFormat,
    WrongPassword,
)
from exlab.certs import compare_issuers, judge_trust, read_certs, select_outbound  # noqa: E402
from exlab.events import read_events  # noqa: E402
from exlab.parse_report import ParseReport  # noqa: E402
from exlab.transport import (  # noqa: E402
    name_fields,
    parse_smtp_reply,
    read_connectors,
    read_protocol_log,
    read_servers,
    read_tracking_log,
    tls_failures,
)
from exlab.analysis import Diagnosis, diagnose  # noqa: E402
from exlab.case import Case, open_case  # noqa: E402

__all__ = [
    "Case",
    "CorruptInput",
    "DataLossWarning",
    "Diagnosis",
    "EvidenceNotFound",
    "ExlabError",
    "ExlabWarning",
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
    "read_servers",
    "read_tracking_log",
    "select_outbound",
    "tls_failures",
]
