"""Certificates: X.509 files and Get-ExchangeCertificate exports into the certificates frame."""

from exlab.certs.reader import read_certs

__all__ = [
    "read_certs",
]
