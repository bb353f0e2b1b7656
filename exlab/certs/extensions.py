"""A certificate's extensions, which a damaged or hostile certificate makes raise when read.

cryptography parses every extension on the first use of ``Certificate.extensions``: two
extensions with one OID raise ``DuplicateExtension``, an x400Address or ediPartyName in a
name ``UnsupportedGeneralNameType``, a damaged value ``ValueError``. Every reader of an
extension catches :data:`EXTENSION_ERRORS`; :func:`unreadable_extensions` says why in words.

>>> [error.__name__ for error in EXTENSION_ERRORS]
['ValueError', 'UnsupportedAlgorithm', 'DuplicateExtension', 'UnsupportedGeneralNameType']
"""

from __future__ import annotations

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm

#: what reading a damaged or unusual extension can raise
EXTENSION_ERRORS = (ValueError, UnsupportedAlgorithm, x509.DuplicateExtension, x509.UnsupportedGeneralNameType)


def unreadable_extensions(cert: x509.Certificate) -> str | None:
    """Why the certificate's extensions cannot be read, in words, or None when they can.

    >>> from exlab.lab.pki import LabPki
    >>> unreadable_extensions(LabPki("doc").public_root.certificate) is None
    True
    """
    try:
        _ = cert.extensions   # parses every extension
    except x509.DuplicateExtension as err:
        return f"it holds the extension {err.oid.dotted_string} twice"
    except x509.UnsupportedGeneralNameType:
        return "a name in its extensions is an x400Address or ediPartyName, which cannot be read here"
    except EXTENSION_ERRORS as err:
        return f"its extensions cannot be read ({err})"
    return None
