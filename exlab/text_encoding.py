"""The text encodings evidence may name, checked in one place.

A file names its encoding in a byte order mark or an XML declaration
(``<?xml version="1.0" encoding="utf-8"?>``). Both are evidence, and Python's codec registry
also holds codecs that are not text encodings (``base64``, ``zlib``, ``rot13``, ``idna``,
``utf-7``, ``punycode``...), so a name is looked up only through :func:`text_codec`, which
accepts what Windows writes and refuses the rest with :class:`~exlab.errors.UnsupportedEncoding`:
UTF-8, UTF-16 and UTF-32 (``Out-File``/``Export-Clixml -Encoding UTF32``), US-ASCII, and the
ANSI and OEM code pages of Windows (windows-125x, ISO-8859-x, the East Asian ones).

>>> text_codec("Windows-1250", "a.xml"), text_codec("unicode", "a.xml")
('cp1250', 'utf-16')
>>> text_codec("base64", "a.xml")
Traceback (most recent call last):
exlab.errors.UnsupportedEncoding: a.xml, the XML declaration: expected a text encoding Windows writes (UTF-8, UTF-16, UTF-32, US-ASCII or a Windows code page) (found 'base64')
>>> xml_codec('<?xml version="1.0" encoding="utf-16"?><Objs/>'.encode("utf-16"), "a.xml")
('utf-16-le', 2)
"""

from __future__ import annotations

import codecs
import re

from exlab.errors import UnsupportedEncoding

#: byte order marks of the encodings read, longest first (UTF-32 LE's starts like UTF-16 LE's)
TEXT_BOMS = ((codecs.BOM_UTF32_LE, "utf-32-le"), (codecs.BOM_UTF32_BE, "utf-32-be"), (codecs.BOM_UTF8, "utf-8"),
             (codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be"))
#: byte order marks of Unicode encodings no Windows export is written in
_FOREIGN_BOMS = ((b"+/v8", "UTF-7"), (b"+/v9", "UTF-7"), (b"+/v+", "UTF-7"), (b"+/v/", "UTF-7"),
                 (b"\xf7\x64\x4c", "UTF-1"), (b"\xdd\x73\x66\x73", "UTF-EBCDIC"), (b"\x0e\xfe\xff", "SCSU"),
                 (b"\xfb\xee\x28", "BOCU-1"))
_EXPECTED = "a text encoding Windows writes (UTF-8, UTF-16, UTF-32, US-ASCII or a Windows code page)"
# Python's names (codecs.lookup(...).name) of the encodings accepted
_UNICODE = frozenset({"utf-8", "utf-8-sig", "utf-16", "utf-16-le", "utf-16-be", "utf-32", "utf-32-le", "utf-32-be"})
_CODE_PAGES = frozenset({"ascii", "cp437", "cp720", "cp737", "cp775", "cp850", "cp852", "cp855", "cp857", "cp858",
                         "cp860", "cp861", "cp862", "cp863", "cp864", "cp865", "cp866", "cp869", "cp874", "cp932",
                         "cp949", "cp950", "shift_jis", "euc_jp", "gb2312", "gbk", "gb18030", "big5", "euc_kr",
                         "koi8-r", "koi8-u", "tis-620"})
_NUMBERED = re.compile(r"cp125[0-8]|iso8859-(?:[1-9]|1[03-6])")
# names Windows writes that Python's registry does not know
_WINDOWS_NAMES = {"unicode": "utf-16", "unicodefffe": "utf-16-be", "ucs-2": "utf-16", "windows-874": "cp874",
                  "windows-31j": "cp932", "x-sjis": "cp932"}
# an XML declaration at the start (its end, or the end of the text looked at), and the encoding it names
_DECLARATION = re.compile(r"\s*<\?xml(?=\s)(.*?)(?:\?>|$)", re.S)
_ENCODING = re.compile(r"""\bencoding\s*=\s*(?:(["'])(.*?)(?:\1|$)|([^\s?]*))""", re.S)


def text_codec(label: str, source: str, where: str = "the XML declaration") -> str:
    """Python's name of the text encoding ``label`` names; UnsupportedEncoding otherwise.

    >>> text_codec("US-ASCII", "a.xml"), text_codec("UTF8", "a.xml"), text_codec("iso-8859-2", "a.xml")
    ('ascii', 'utf-8', 'iso8859-2')
    """
    name = _WINDOWS_NAMES.get(label.strip().lower(), label.strip())
    try:
        codec = codecs.lookup(name).name
    except (LookupError, ValueError):   # ValueError: a name with a NUL in it
        codec = ""
    if codec in _UNICODE or codec in _CODE_PAGES or _NUMBERED.fullmatch(codec):
        return codec
    raise UnsupportedEncoding(source, where, _EXPECTED, f"found {label[:40]!r}")


def bom_of(head: bytes) -> tuple[str, int] | None:
    """The encoding a text byte order mark at the start of ``head`` names and its length, or None.

    >>> bom_of("a".encode("utf-32")), bom_of(b"\\xef\\xbb\\xbfa"), bom_of(b"a")
    (('utf-32-le', 4), ('utf-8', 3), None)
    """
    for bom, codec in TEXT_BOMS:
        if head.startswith(bom):
            return codec, len(bom)
    return None


def refuse_foreign_bom(head: bytes, source: str) -> None:
    """UnsupportedEncoding when ``head`` starts with the byte order mark of UTF-7, UTF-1,
    UTF-EBCDIC, SCSU or BOCU-1 (no Windows export is written in them).

    >>> refuse_foreign_bom(b"+/v8-<Objs/>", "a.xml")
    Traceback (most recent call last):
    exlab.errors.UnsupportedEncoding: a.xml, the byte order mark: expected a text encoding Windows writes (UTF-8, UTF-16, UTF-32, US-ASCII or a Windows code page) (found UTF-7's)
    """
    for bom, name in _FOREIGN_BOMS:
        if head.startswith(bom):
            raise UnsupportedEncoding(source, "the byte order mark", _EXPECTED, f"found {name}'s")


def declared_encoding(head: bytes | str) -> str | None:
    """The encoding named in the XML declaration at the start of ``head`` (bytes, or text
    already decoded), as written (up to the end of ``head`` when its quote is not closed), or None.

    >>> declared_encoding(b'<?xml version="1.0" encoding="utf-8" standalone="yes"?>\\r\\n<Events>')
    'utf-8'
    >>> declared_encoding('<?xml version="1.0" encoding="base64"?>'.encode("utf-16-be")), declared_encoding(b"<Objs>")
    ('base64', None)
    >>> declared_encoding("<?xml version='1.0' encoding=zlib?><Objs/>"), declared_encoding("<?xml encoding='rot")
    ('zlib', 'rot')
    """
    declaration = _DECLARATION.match(_head_text(head))
    named = None if declaration is None else _ENCODING.search(declaration.group(1))
    if named is None:
        return None
    return named.group(2) if named.group(1) else named.group(3)


def has_declaration(head: bytes | str) -> bool:
    """Whether ``head`` starts with an XML declaration (``<?xml ...``), finished or not.

    >>> has_declaration("\\r\\n<?xml version='1.0'?><a/>".encode("utf-16")), has_declaration(b"<Objs>")
    (True, False)
    """
    return _DECLARATION.match(_head_text(head)) is not None


def _head_text(head: bytes | str) -> str:
    """The first characters of ``head`` (its BOM left out), decoded as its BOM or layout says."""
    if isinstance(head, str):
        return head[:1024].removeprefix("\ufeff")
    codec, skip = bom_of(head) or (_layout(head) or "latin-1", 0)
    return head[skip:skip + 4096].decode(codec, "replace")


def xml_codec(head: bytes, source: str) -> tuple[str, int]:
    """The encoding an XML document is read in, and the length of its byte order mark.

    The BOM decides, else the declaration, else how the NULs around the first ``<`` lie,
    else UTF-8. A declared encoding is checked even when a BOM decides; a foreign BOM or
    a declaration naming no text encoding raises UnsupportedEncoding naming ``source``.

    >>> xml_codec(b'<?xml version="1.0" encoding="windows-1250"?><a/>', "a.xml"), xml_codec(b"<a/>", "a.xml")
    (('cp1250', 0), ('utf-8', 0))
    >>> xml_codec("<a/>".encode("utf-32-be"), "a.xml")
    ('utf-32-be', 0)
    """
    refuse_foreign_bom(head, source)
    label = declared_encoding(head)
    declared = None if label is None else text_codec(label, source)
    found = bom_of(head)
    if found is not None:
        return found
    layout = _layout(head)
    if layout is not None:
        return layout, 0
    if declared is None or declared.startswith(("utf-16", "utf-32")):
        return "utf-8", 0
    return declared, 0


def _layout(head: bytes) -> str | None:
    """UTF-16 or UTF-32 (and which byte order) from the NULs around the first ``<``, or None."""
    start = head.lstrip(b"\r\n\t \x00")[:1]
    if start != b"<":
        return None
    at = head.index(b"<")
    before, after = head[max(at - 3, 0):at], head[at + 1:at + 4]
    if at % 4 == 3 and before == b"\x00\x00\x00":
        return "utf-32-be"
    if at % 4 == 0 and after == b"\x00\x00\x00":
        return "utf-32-le"
    if at % 2 == 1 and before[-1:] == b"\x00":
        return "utf-16-be"
    if at % 2 == 0 and after[:1] == b"\x00":
        return "utf-16-le"
    return None
