"""Get-ExchangeCertificate properties (by their PowerShell names) into certificates-frame rows.

Every export shape reads its certificates into a dict of property name -> value, as
text (Format-List, table, Export-Csv) or typed (CliXml, JSON); :func:`exchange_rows`
makes rows of them. When the export carries ``RawData`` (the DER), the certificate
itself gives a second row keyed by the DER's SHA-1, so the merge can check the
printed values, the thumbprint included, against it.

>>> from exlab.parse_report import ParseReport
>>> from exlab.cultures import DateStyle
>>> context = PropsContext(ParseReport().add_file("fl.txt", sha256="", format="exchange-list"),
...                        tz="Europe/Warsaw", dates=DateStyle.detect([], culture="pl-PL"))
>>> [row] = exchange_rows({"Thumbprint": "3f2a9c01d4e8b7766a5c0b1e92d4f0a8c3b71e55",
...     "Subject": "CN=mail.contoso.com", "Services": "IMAP, POP, IIS, SMTP",
...     "CertificateDomains": "{mail.contoso.com, exchange.contoso.com}",
...     "NotAfter": "14.03.2027 10:12:05", "RootCAType": "Enterprise", "HasPrivateKey": "True"},
...     context, "certificate 1")
>>> row["thumbprint"], row["services"], row["dns_names"]
('3F2A9C01D4E8B7766A5C0B1E92D4F0A8C3B71E55', ('IMAP', 'POP', 'IIS', 'SMTP'), ('mail.contoso.com', 'exchange.contoso.com'))
>>> row["not_after"], row["root_ca_type"], row["has_private_key"]
(Timestamp('2027-03-14 09:12:05+0000', tz='UTC'), 'Enterprise', True)
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import pandas as pd

from exlab.certs.exchange_values import (
    ROOT_CA_TYPES,
    STATUSES,
    is_type_name,
    parse_bool,
    parse_enum,
    parse_list,
    parse_services,
)
from exlab.certs.options import ReadOptions
from exlab.certs.repeated_hour import RepeatedDate, local_to_utc
from exlab.certs.schema import OUT_OF_RANGE, utc_timestamp
from exlab.certs.x509_facts import (
    certificate_facts,
    dns_like,
    subject_common_names,
    unique_names,
)
from exlab.cultures import DateStyle
from exlab.daylight_saving import GAP, daylight_saving_place, tell_gap
from exlab.parse_report import FileReport
from exlab.value_ranges import fits

_THUMBPRINT = re.compile(r"^[0-9A-Fa-f]{40}$")
_SERVER_AUTH_OIDS = ("1.3.6.1.5.5.7.3.1", "2.5.29.37.0")
# Windows' names of signature algorithms (Oid.FriendlyName) and their OIDs, by hash.
_SIGNATURE_HASHES = {"md2": "md2", "md5": "md5", "sha1": "sha1", "sha256": "sha256", "sha384": "sha384",
                     "sha512": "sha512"}
_SIGNATURE_OIDS = {
    "1.2.840.113549.1.1.2": "md2", "1.2.840.113549.1.1.4": "md5", "1.2.840.113549.1.1.5": "sha1",
    "1.2.840.113549.1.1.11": "sha256", "1.2.840.113549.1.1.12": "sha384", "1.2.840.113549.1.1.13": "sha512",
    "1.2.840.10045.4.1": "sha1", "1.2.840.10045.4.3.2": "sha256", "1.2.840.10045.4.3.3": "sha384",
    "1.2.840.10045.4.3.4": "sha512",
}


def text_context(report: FileReport, options: ReadOptions, samples: list[str], source: str) -> PropsContext:
    """The context of a text export (Format-List, table, Export-Csv) whose dates are ``samples``:
    the file's date order (:meth:`DateStyle.detect`: warned when only a hint or nothing tells
    it; a ``culture`` the values contradict is an error) and the time zone, with what was
    decided written to the report.

    >>> from exlab.parse_report import ParseReport
    >>> report = ParseReport().add_file("fl.txt", sha256="", format="exchange-list")
    >>> context = text_context(report, ReadOptions(tz="Europe/Warsaw"), ["14.03.2027 10:12:05"], "fl.txt")
    >>> context.dates.order, report.assumed_tz
    ('DMY', 'Europe/Warsaw')
    """
    dates = DateStyle.detect(samples, options.culture, source=source, where="the NotBefore/NotAfter values")
    dates.report_to(report)
    if samples:
        if options.tz is None:
            report.assume_tz("UTC", "Get-ExchangeCertificate prints the server's local time without an offset; "
                                    "pass tz= (the server's time zone)")
        else:
            report.assumed_tz = options.tz
            report.note(f"local times read as {options.tz} (given)")
    return PropsContext(report, tz=options.tz, dates=dates, noted={"tz"})


@dataclass
class PropsContext:
    """What turning one file's properties into rows needs: its report, the server's time zone
    and the file's date style (text shapes)."""

    report: FileReport
    tz: str | None = None
    dates: DateStyle | None = None
    noted: set[str] = field(default_factory=set)

    def note_once(self, where: str, message: str) -> None:
        """Note ``message`` for the first record it applies to only (it holds for the whole file)."""
        if message not in self.noted:
            self.noted.add(message)
            self.report.note(f"{where} and any later record: {message}")


def counted_rows(props: Mapping[str, Any], context: PropsContext, where: str,
                 skipped_as: str | None = None, truncated: frozenset[str] = frozenset()) -> list[dict]:
    """:func:`exchange_rows` of one exported record (``truncated``: the columns it showed cut short), counted
    in the report: read, or skipped (at ``skipped_as``, default ``where``, with no rows) when it names no
    certificate.

    >>> from exlab.parse_report import ParseReport
    >>> report = ParseReport().add_file("fl.txt", sha256="", format="exchange-list")
    >>> context = PropsContext(report)
    >>> len(counted_rows({"Thumbprint": "AB" * 20}, context, "block 1")), counted_rows({}, context, "block 2")
    (1, [])
    >>> report.records_read, report.records_skipped
    (1, 1)
    """
    try:
        rows = exchange_rows(props, context, where, truncated)
    except ValueError as err:
        context.report.skip_record(skipped_as or where, str(err))
        return []
    context.report.records_read += 1
    return rows


def exchange_rows(props: Mapping[str, Any], context: PropsContext, where: str,
                  truncated: frozenset[str] = frozenset()) -> list[dict]:
    """One row of Exchange's facts (plus one of the DER's facts when ``RawData`` is there).

    ``truncated`` names the columns the export showed cut short (a table's Subject, Issuer, FriendlyName).

    Raises ``ValueError`` when the record names no certificate (no thumbprint, no RawData):
    the reader skips and counts it. A value that cannot be understood leaves its column NA
    and is noted in the report.
    """
    row: dict = {}
    rows: list[dict] = []
    raw = props.get("RawData")
    if raw is not None and not isinstance(raw, str):
        try:
            facts = certificate_facts(bytes(raw))
        except (ValueError, TypeError) as err:
            context.report.note(f"{where}: RawData is not a certificate ({err}); its printed values used")
        else:
            for note in facts.notes:
                context.report.note(f"{where}: {note}")
            rows.append(facts.row)
            row["_key"] = facts.row["thumbprint"]
    thumbprint = _thumbprint(props)
    if thumbprint is None and "_key" not in row:
        raise ValueError("no Thumbprint, Identity or RawData names the certificate")
    row["thumbprint"] = thumbprint or row["_key"]
    for name, column, convert in _CONVERSIONS:
        value = props.get(name)
        if value is None or (isinstance(value, str) and not value.strip() and column != "friendly_name"):
            continue
        try:
            converted = convert(value, context)
        except (ValueError, TypeError) as err:
            context.report.note(f"{where}: {name} {value!r} not understood ({err}); left NA")
            continue
        if converted is not None and row.get(column) is None:
            row[column] = _kept(row, converted, name, column, where)
    _add_server(row, props, context, where)
    if _add_dns_names(row, props, context, where, subject_cut="subject" in truncated):
        truncated = truncated | {"dns_names"}
    row["_truncated"] = frozenset(c for c in truncated if c in row)
    rows.append(row)
    return rows


def _kept(row: dict, value: Any, name: str, column: str, where: str) -> Any:
    """The value ``row`` keeps in ``column``: a date in the hour the clocks go back over is kept as its
    first reading, with both readings in ``row["_repeated"]`` (:mod:`exlab.certs.repeated_hour`)."""
    if not isinstance(value, RepeatedDate):
        return value
    row.setdefault("_repeated", []).append(value._replace(name=name, column=column, where=where))
    return value.first


def _thumbprint(props: Mapping[str, Any]) -> str | None:
    for candidate in (props.get("Thumbprint"), str(props.get("Identity") or "").rpartition("\\")[2]):
        if isinstance(candidate, str) and _THUMBPRINT.match(candidate.strip()):
            return candidate.strip().upper()
    return None


def _text(value: Any, context: PropsContext) -> str:
    return str(value).strip()


def _friendly_name(value: Any, context: PropsContext) -> str | None:
    return str(value) or None


def _time(value: Any, context: PropsContext) -> pd.Timestamp | RepeatedDate:
    if isinstance(value, str):
        if context.dates is None:
            raise ValueError("a text date in an export without a date style")
        value = context.dates.parse(value)
    if isinstance(value, datetime) and value.tzinfo is None:
        if context.tz is None and "tz" not in context.noted:
            context.noted.add("tz")
            context.report.assume_tz("UTC", "the export holds local times without an offset; "
                                            "pass tz= (the server's time zone)")
        _warn_of_a_gap(value, context)
        return local_to_utc(value, context.tz)
    stamp = utc_timestamp(value)
    if stamp is None:
        raise ValueError(OUT_OF_RANGE)
    return stamp


def _warn_of_a_gap(local: datetime, context: PropsContext) -> None:
    """Warn, once a file, of a local time in the hour ``tz``'s clocks skip (:mod:`exlab.daylight_saving`)."""
    if GAP not in context.noted and daylight_saving_place(local, context.tz) == GAP:
        context.noted.add(GAP)
        tell_gap(context.report, local, context.tz)


def _bool(value: Any, context: PropsContext) -> bool:
    return parse_bool(value)


def _int(value: Any, context: PropsContext) -> int:
    """A whole number the frame's Int32 column holds (a damaged export's 20-digit number is not one)."""
    number = int(str(value).strip())
    if not fits(number, "Int32"):
        raise ValueError(f"{number} is outside what the column holds")
    return number


def _services(value: Any, context: PropsContext) -> tuple[str, ...]:
    if isinstance(value, (tuple, list)):
        return parse_services(", ".join(value) or "None")
    return parse_services(value)


def _status(value: Any, context: PropsContext) -> str:
    return parse_enum(value, STATUSES)


def _root_ca_type(value: Any, context: PropsContext) -> str:
    return parse_enum(value, ROOT_CA_TYPES)


def _serial(value: Any, context: PropsContext) -> str:
    text = re.sub(r"[\s:]", "", str(value)).upper()
    if not re.fullmatch(r"[0-9A-F]+", text):
        raise ValueError("not hexadecimal")
    return text


def _signature_hash(value: Any, context: PropsContext) -> str | None:
    if isinstance(value, Mapping):
        oid = str(value.get("Value") or "")
        if oid in _SIGNATURE_OIDS:
            return _SIGNATURE_OIDS[oid]
        value = value.get("FriendlyName") or ""
    text = str(value).strip()
    if text in _SIGNATURE_OIDS:
        return _SIGNATURE_OIDS[text]
    if is_type_name(text) or not text:
        return None
    match = re.match(r"(md2|md5|sha1|sha256|sha384|sha512)", text.lower())
    if match is None:
        raise ValueError("not a signature algorithm Windows names")
    return _SIGNATURE_HASHES[match.group(1)]


def _server_auth(value: Any, context: PropsContext) -> bool | None:
    listed = _items(value)
    if listed is None:
        return None
    items, cut = listed
    if any(oid in item for item in items for oid in _SERVER_AUTH_OIDS) or any(
            item.startswith("Server Authentication") for item in items):
        return True
    if cut:
        raise ValueError("cut short ($FormatEnumerationLimit) before any server authentication usage showed: "
                         "whether the certificate allows it is unknown; set $FormatEnumerationLimit = -1 "
                         "before Format-List to see the whole list")
    return not items   # no EKU extension: every purpose is allowed


def _items(value: Any) -> tuple[list[str], bool] | None:
    """A list property as items and whether the export cut it short (``...``), or None when the
    export flattened it to a type name."""
    if isinstance(value, (list, tuple)):
        return [str(v) for v in value], False
    text = str(value).strip()
    if is_type_name(text):
        return None
    return parse_list(text)


_CONVERSIONS: tuple[tuple[str, str, Callable[[Any, PropsContext], Any]], ...] = (
    ("Subject", "subject", _text),
    ("Issuer", "issuer", _text),
    ("NotBefore", "not_before", _time),
    ("NotAfter", "not_after", _time),
    ("SerialNumber", "serial_number", _serial),
    ("IsSelfSigned", "is_self_signed", _bool),
    ("HasPrivateKey", "has_private_key", _bool),
    ("Services", "services", _services),
    ("ServicesStringForm", "services", _services),
    ("Status", "status", _status),
    ("RootCAType", "root_ca_type", _root_ca_type),
    ("FriendlyName", "friendly_name", _friendly_name),
    ("PublicKeySize", "public_key_size", _int),
    ("SignatureAlgorithm", "signature_hash", _signature_hash),
    ("EnhancedKeyUsageList", "server_auth", _server_auth),
)


def _add_server(row: dict, props: Mapping[str, Any], context: PropsContext, where: str) -> None:
    """Set ``server``: the server whose store holds the certificate. PSComputerName (as written)
    names the server the shell ran on; Identity ``SERVER\\THUMBPRINT`` the store's. They agree
    unless ``Get-ExchangeCertificate -Server`` reached another server: then Identity wins, noted."""
    shell = str(props.get("PSComputerName") or "").strip()
    store, _, thumbprint = str(props.get("Identity") or "").strip().rpartition("\\")
    store = store.strip() if _THUMBPRINT.match(thumbprint.strip()) else ""
    if shell and store and shell.split(".")[0].lower() != store.split(".")[0].lower():
        context.note_once(where, f"certificates of {store} (Identity) listed from a shell on {shell} "
                                 "(PSComputerName); server is taken from Identity")
        shell = ""
    if shell or store:
        row["server"] = shell or store


def _add_dns_names(row: dict, props: Mapping[str, Any], context: PropsContext, where: str,
                   subject_cut: bool) -> bool:
    """Set ``dns_names``: the Subject's host-like CNs (Windows and Exchange match a name on the
    CN too) and the names of CertificateDomains (or DnsNameList). True when they may be fewer than
    the certificate's: the list was cut short, or no list gave the names (the CN alone, the SANs
    unknown), so that the merge takes a DER's or a complete list's names over them."""
    cns = _host_common_names(row.get("subject") or "", subject_cut)
    for name in ("CertificateDomains", "DnsNameList"):
        value = props.get(name)
        if value is None:
            continue
        listed = _items(value)
        if listed is None:
            context.note_once(where, f"{name} was written as the type name {str(value).strip()!r}; "
                                     "the names are not in this export")
            continue
        items, truncated = listed
        row["dns_names"] = unique_names(cns + items)
        return truncated
    if cns:
        row["dns_names"] = unique_names(cns)
    return bool(cns)


def _host_common_names(subject: str, cut: bool) -> list[str]:
    """The CNs of a Subject that look like host names; of a Subject the console cut short
    (``CN=mail.contoso.com, O=...``), only those before the RDN it cut."""
    if cut:
        subject = subject.rpartition(",")[0]
    return [cn for cn in subject_common_names(subject) if dns_like(cn)]
