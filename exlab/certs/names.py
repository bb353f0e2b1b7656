"""Does a certificate cover a host name? And are two distinguished names the same?

:func:`covers` follows RFC 6125 as public CAs practise it: a wildcard is a whole
left-most label (``*.contoso.com``), stands for exactly one label, and never covers the
bare domain; partial-label wildcards (``mail*.contoso.com``) and wildcards elsewhere
match nothing. Comparison ignores case and a trailing dot; international names are
compared in their ASCII (IDNA) form, so ``bücher.contoso.com`` and
``xn--bcher-kva.contoso.com`` are the same name.

>>> covers(("mail.contoso.com", "*.contoso.com"), "autodiscover.contoso.com")
True
>>> covers(("*.contoso.com",), "contoso.com"), covers(("*.contoso.com",), "a.b.contoso.com")
(False, False)
"""

from __future__ import annotations

import re
from collections.abc import Iterable

_NAME_SEPARATORS = re.compile(r"([,=+])")   # kept by split: the parts between them are stripped


def ascii_name(name: str) -> str | None:
    """A host name in the form compared: ASCII (IDNA), lower case, no trailing dot; None if not a name.

    >>> ascii_name("Mail.Contoso.COM."), ascii_name("bücher.contoso.com")
    ('mail.contoso.com', 'xn--bcher-kva.contoso.com')
    >>> ascii_name("Microsoft Exchange Server Auth Certificate") is None
    True
    """
    text = name.strip().rstrip(".")
    if not text or any(c.isspace() for c in text):
        return None
    labels = []
    for label in text.split("."):
        if not label:
            return None
        if label.isascii():
            labels.append(label.lower())
            continue
        try:
            labels.append(label.encode("idna").decode("ascii"))
        except UnicodeError:
            return None
    return ".".join(labels)


def _wildcard_covers(pattern: list[str], labels: list[str]) -> bool:
    if len(pattern) != len(labels) or len(pattern) < 3:   # "*.com" would cover a whole TLD
        return False
    if pattern[0] != "*" or any("*" in label for label in pattern[1:]):
        return False
    return bool(labels[0]) and pattern[1:] == labels[1:]


def covering_name(dns_names: Iterable[str] | None, name: str) -> str | None:
    """The first of ``dns_names`` that covers ``name`` (as written in the certificate), or None.

    >>> covering_name(["mail.contoso.com", "*.contoso.com"], "smtp.contoso.com")
    '*.contoso.com'
    >>> covering_name(["mail*.contoso.com"], "mail1.contoso.com") is None
    True
    """
    if isinstance(dns_names, str) or not isinstance(dns_names, Iterable):   # None, NA
        return None
    wanted = ascii_name(name)
    if wanted is None or "*" in wanted:
        return next((n for n in dns_names if isinstance(n, str) and n.strip().lower() == name.strip().lower()), None)
    labels = wanted.split(".")
    for entry in dns_names:
        if not isinstance(entry, str):
            continue
        candidate = ascii_name(entry)
        if candidate is None:
            continue
        if candidate == wanted or ("*" in candidate and _wildcard_covers(candidate.split("."), labels)):
            return entry
    return None


def covers(dns_names: Iterable[str] | None, name: str) -> bool:
    """Whether a certificate with these names (CN and SAN) covers host ``name``.

    >>> covers(["MAIL.contoso.com"], "mail.contoso.com."), covers(None, "mail.contoso.com")
    (True, False)
    """
    return covering_name(dns_names, name) is not None


def name_key(name: str) -> str:
    """A distinguished name folded for comparison: case and spaces around ``,`` ``=`` ``+`` aside.

    >>> name_key("CN=Contoso Root CA,  DC=contoso, DC=com") == name_key("cn=contoso root ca,DC=Contoso,DC=COM")
    True

    In time linear in the name's length (``\\s*,\\s*`` as a pattern took minutes on a name
    holding a long run of spaces, a damaged export's):

    >>> name_key("CN=a" + " " * 200_000 + "b ,O=x") == "cn=a" + " " * 200_000 + "b,o=x"
    True
    """
    return "".join(part.strip() for part in _NAME_SEPARATORS.split(name)).casefold()
