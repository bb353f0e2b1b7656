"""Certificates: X.509 files and Get-ExchangeCertificate exports into the certificates frame."""

from exlab.certs.reader import read_certs
from exlab.certs.compare import compare_issuers
from exlab.certs.names import covers
from exlab.certs.selection import OutboundChoice, select_outbound
from exlab.certs.anchors import TrustAnchors
from exlab.certs.trust import judge_trust

__all__ = [
    "OutboundChoice",
    "TrustAnchors",
    "compare_issuers",
    "covers",
    "judge_trust",
    "read_certs",
    "select_outbound",
]
