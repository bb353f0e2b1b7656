"""The exceptions and warnings exlab raises on purpose.

Every error names the evidence file, the place in it and what was expected, so an
engineer can go back to the export and see for themselves:

>>> err = CorruptInput("Application.evtx", "chunk 3 at offset 0x11000", "chunk signature ElfChnk")
>>> str(err)
'Application.evtx, chunk 3 at offset 0x11000: expected chunk signature ElfChnk'
>>> isinstance(err, ExlabError)
True
"""

from __future__ import annotations

import re


class ExlabError(Exception):
    """Base class of every error exlab raises on purpose.

    ``source`` is the file (or stream name), ``where`` the place inside it (a line,
    an offset, a record), ``expected`` what exlab expected to find there.
    """

    exit_code = 1   # what the ``exlab`` command returns (``exlab.cli.EXIT_CODES``)

    def __init__(self, source: str, where: str | None = None, expected: str | None = None,
                 detail: str | None = None) -> None:
        self.source = source
        self.where = where
        self.expected = expected
        self.detail = detail
        super().__init__(self._text())

    def _text(self) -> str:
        text = self.source if not self.where else f"{self.source}, {self.where}"
        if self.expected:
            text += f": expected {self.expected}"
        if self.detail:
            text += f" ({self.detail})"
        return text

    @property
    def problem(self) -> str:
        """What was wrong at the place, without the file and the place.

        >>> CorruptInput("app.evtx", "chunk 3", "chunk signature ElfChnk", "found zeros").problem
        'expected chunk signature ElfChnk (found zeros)'
        """
        text = f"expected {self.expected}" if self.expected else ""
        if self.detail:
            text += f" ({self.detail})" if text else self.detail
        return text

    def __reduce__(self):  # keep pickling (multiprocessing, papermill) working
        return (type(self), (self.source, self.where, self.expected, self.detail))


class UnsupportedFormat(ExlabError):
    """The file is not in any format this reader understands."""


class UnsupportedEncoding(UnsupportedFormat):
    """A byte order mark or XML declaration names no text encoding exlab reads (``exlab.text_encoding``)."""


class CorruptInput(ExlabError):
    """The file claims a known format but is damaged beyond the point of skipping a record."""


class WrongPassword(ExlabError):
    """A PKCS#12 file needs a password that was missing or wrong."""


class EvidenceChanged(ExlabError):
    """A file changed while exlab read it: what was read would not match its SHA-256."""


class EvidenceNotFound(ExlabError):
    """A path given as evidence does not exist or holds nothing exlab can read."""


class NoEvidence(EvidenceNotFound):
    """The paths exist but hold no evidence of the kind asked for (no certificates, no events).

    >>> NoEvidence("cases/ex01", None, "a certificate file or Get-ExchangeCertificate export").exit_code
    3
    """

    exit_code = 3


class ExlabWarning(UserWarning):
    """Base category of exlab's warnings; filter on it to silence or escalate them.

    Like an error, a warning names the evidence file (``source``) and the place in it
    (``where``); ``str()`` is the place and the text, and :meth:`located` the whole line
    the ``exlab`` command prints:

    >>> w = AssumptionWarning("local times read as UTC", "certs/fl.txt", "line 12")
    >>> str(w), w.line
    ('line 12: local times read as UTC', 12)
    >>> w.located()
    'certs/fl.txt line 12: local times read as UTC'
    """

    def __init__(self, text: str, source: str | None = None, where: str | None = None) -> None:
        self.text = text
        self.source = source
        self.where = where
        super().__init__(f"{where}: {text}" if where else text)

    @property
    def line(self) -> int:
        """The line of the evidence file the place names (``line 12 ...``), else 0.

        >>> ExlabWarning("gap", "Application.evtx", "chunk 3 at offset 0x11000").line
        0
        """
        match = re.match(r"lines? (\d+)", self.where or "")
        return int(match.group(1)) if match else 0

    def located(self) -> str:
        """The file, the place and the text on one line.

        >>> ExlabWarning("no offset", "Application.csv").located()
        'Application.csv: no offset'
        """
        place = " ".join(part for part in (self.source, self.where) if part)
        return f"{place}: {self.text}" if place else self.text

    def __reduce__(self):  # keep pickling (helper processes) working
        return (type(self), (self.text, self.source, self.where))


class DataLossWarning(ExlabWarning):
    """Records or chunks of a file were skipped; the parse report counts them."""


class AssumptionWarning(ExlabWarning):
    """exlab had to assume something the evidence did not say (a time zone, a server name)."""
