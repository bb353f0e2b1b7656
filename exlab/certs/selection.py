"""Which certificate does the transport service present when it opens TLS to Exchange Online?

:func:`select_outbound` follows Exchange's rules (EXCHANGE.md):

* a send connector's ``TlsCertificateName`` (``<I>issuer<S>subject``) names exactly one
  certificate; when none has that issuer and subject, delivery fails with
  ``454 4.7.5`` and event 12014 (``tls_certificate_name_missing``);
* otherwise the name is the connector's Fqdn, or the server's FQDN when that is empty.
  Candidates cover the name (CN or SAN, wildcards allowed), have a private key, allow
  server authentication and are enabled for SMTP. The newest one (latest NotBefore)
  valid on the server at ``at`` wins; the server trusts its internal root, so internal
  certificates count as valid, expired ones do not. A self-signed certificate is only
  a fallback.

Where an export does not say (no private-key flag, no services, no EKU), the
certificate is kept and the ``why`` column says what was assumed. Where a date an export
printed in the hour the clocks go back over was left unsettled (``not_before_later``,
``not_after_later``: :mod:`exlab.certs.repeated_hour`) and its second reading would change
the choice, ``unsure`` says so (:func:`unsure_usable`).

>>> import pandas as pd
>>> from exlab.certs.schema import certs_frame
>>> def cert(thumb, issuer, start, services=("IIS", "SMTP")):
...     return {"thumbprint": thumb * 40, "subject": "CN=mail.contoso.com", "issuer": issuer,
...             "dns_names": ("mail.contoso.com",), "not_before": pd.Timestamp(start, tz="UTC"),
...             "not_after": pd.Timestamp("2030-01-01", tz="UTC"), "has_private_key": True,
...             "server_auth": True, "is_self_signed": False, "services": services}
>>> certs = certs_frame([cert("A", "CN=exlab Lab Public Server CA 01", "2024-05-01"),
...                      cert("B", "CN=Contoso Issuing CA 01", "2025-03-14")])
>>> choice = select_outbound(certs, server_fqdn="mail.contoso.com", at="2025-03-20")
>>> choice.thumbprint[:4], choice.rule
('BBBB', 'newest valid candidate')
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pandas as pd

from exlab.certs.merge import LATER_COLUMNS
from exlab.certs.names import covering_name, name_key
from exlab.certs.trust import flag, judgement_time, present, utc_stamp

RULE_TLS_CERTIFICATE_NAME = "TlsCertificateName"
RULE_NEWEST = "newest valid candidate"
RULE_SELF_SIGNED = "self-signed fallback"
RULE_NONE = "no candidate"
UNUSABLE_STATUS = ("revoked", "untrusted", "invalid", "dateinvalid")   # Status as Exchange computed it
DATE_NAMES = {"not_before": "NotBefore", "not_after": "NotAfter"}
UNSETTLED = ("printed in the hour the clocks go back over, and no file with the certificate's exact times "
             "(its .cer or .pem) tells which pass")
CANDIDATE_COLUMNS: dict[str, str] = {
    "thumbprint": "string",
    "subject": "string",
    "issuer": "string",
    "not_before": "datetime64[ns, UTC]",
    "not_after": "datetime64[ns, UTC]",
    "issuer_class": "string",
    "trusted_by_microsoft365": "boolean",
    "rank": "Int32",
    "taken": "boolean",
    "why": "string",
}
# TlsCertificateName is "<I>issuer<S>subject"; found with two patterns that cannot backtrack
# (one pattern ending in ``.*?\s*$`` took minutes on a value holding a long run of spaces)
_TLS_ISSUER = re.compile(r"\s*<I>", re.I)
_TLS_SUBJECT = re.compile(r"<S>", re.I)


@dataclass(frozen=True)
class OutboundChoice:
    """The certificate the transport would present, and why.

    ``thumbprint`` is None when nothing qualifies. ``name`` is the FQDN matched (or the
    TlsCertificateName). ``rule``: ``TlsCertificateName``, ``newest valid candidate``,
    ``self-signed fallback`` or ``no candidate``. ``candidates`` explains every
    certificate (rank among those that qualify, ``taken``, ``why``). ``unsure``: what
    a date left unsettled in the hour the clocks go back over leaves unsure in the choice.
    """

    thumbprint: str | None
    name: str
    rule: str
    candidates: pd.DataFrame
    tls_certificate_name_missing: bool
    at: pd.Timestamp
    summary: str
    unsure: tuple[str, ...] = ()

    def __str__(self) -> str:
        lines = [self.summary, *(f"unsure: {text}" for text in self.unsure), ""]
        for row in self.candidates.itertuples():
            mark = "->" if flag(row.taken) is True else "  "
            rank = "-" if pd.isna(row.rank) else str(row.rank)
            lines.append(f"{mark} {rank:>2} {row.thumbprint}  {row.subject}  (issuer {row.issuer}): {row.why}")
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        table = self.candidates.to_html(index=False, escape=True, na_rep="")
        unsure = "".join(f"<p>unsure: {html.escape(text)}</p>" for text in self.unsure)
        return f"<p><b>{html.escape(self.summary)}</b></p>{unsure}{table}"


def parse_tls_certificate_name(value: str) -> tuple[str, str] | None:
    """``<I>issuer<S>subject`` as (issuer, subject), or None when the value has another shape.

    >>> parse_tls_certificate_name("<I>CN=exlab Lab Public Server CA 01, O=exlab lab, C=US<S>CN=mail.contoso.com")
    ('CN=exlab Lab Public Server CA 01, O=exlab lab, C=US', 'CN=mail.contoso.com')
    >>> run = " " * 200_000          # a long run of spaces in a damaged export: read in linear time
    >>> parse_tls_certificate_name(" <i>CN=CA <s> CN=x" + run + "y ") == ("CN=CA", "CN=x" + run + "y")
    True
    >>> parse_tls_certificate_name("CN=x") is None
    True
    """
    value = value or ""
    issuer = _TLS_ISSUER.match(value)
    subject = _TLS_SUBJECT.search(value, issuer.end()) if issuer else None
    if subject is None:
        return None
    return value[issuer.end():subject.start()].strip(), value[subject.end():].strip()


def select_outbound(certs: pd.DataFrame, *, server_fqdn: str, connector_fqdn: str | None = None,
                    tls_certificate_name: str | None = None, at: Any = None) -> OutboundChoice:
    """Predict the certificate the transport presents for a send connector (see the module doc).

    ``at`` is when validity is judged (the failure time); without it, now, and the
    summary says so.

    >>> from exlab.certs.schema import certs_frame
    >>> choice = select_outbound(certs_frame([]), server_fqdn="ex01.contoso.com",
    ...     tls_certificate_name="<I>CN=exlab Lab Public Server CA 01<S>CN=mail.contoso.com")
    >>> choice.thumbprint, choice.tls_certificate_name_missing
    (None, True)
    """
    moment, defaulted = judgement_time(at)
    when = "(validity judged now: no time given)" if defaulted else f"at {moment.isoformat()}"
    rows = [row.to_dict() for _, row in certs.iterrows()]
    wanted = present(tls_certificate_name)
    if wanted:
        return _by_tls_certificate_name(rows, wanted, moment, when)
    name = present(connector_fqdn) or server_fqdn
    verdicts = [(row, _skip_reason(row, name, moment)) for row in rows]
    ranked = _ranked(verdicts)
    taken = ranked[0][0] if ranked else None
    rule = RULE_NONE if taken is None else (RULE_SELF_SIGNED if _self_signed(taken) else RULE_NEWEST)
    table = [_candidate(row, rank, row is taken, _why_passed(row, notes, rank)) for rank, (row, notes)
             in enumerate(ranked, 1)]
    table += [_candidate(row, None, False, reason) for row, (reason, _) in verdicts if reason is not None]
    source = "connector Fqdn" if present(connector_fqdn) else "server FQDN"
    if taken is None:
        summary = f"no certificate qualifies for {name} ({source}) {when}: the transport has nothing to present"
    else:
        summary = (f"presents {taken.get('thumbprint')} ({taken.get('subject')}, issued by "
                   f"{present(taken.get('issuer')) or 'an issuer no export names'}) "
                   f"for {name} ({source}), {rule} {when}")
    unsure = _unsure(rows, lambda row, at: _skip_reason(row, name, at)[0],
                     lambda some: [row for row, _ in _ranked([(r, _skip_reason(r, name, moment)) for r in some])],
                     moment)
    return OutboundChoice(present(taken.get("thumbprint")) if taken else None, name, rule, _frame(table), False,
                          pd.Timestamp(moment), summary, unsure)


def _by_tls_certificate_name(rows: list[dict], wanted: str, at: datetime, when: str) -> OutboundChoice:
    parsed = parse_tls_certificate_name(wanted)
    matches = [r for r in rows if parsed and name_key(present(r.get("issuer")) or "") == name_key(parsed[0])
               and name_key(present(r.get("subject")) or "") == name_key(parsed[1])]
    usable = _usable(matches, at)
    taken = usable[0] if usable else None
    table = [_candidate(row, rank, row is taken, "issuer and subject match TlsCertificateName"
                        + ("" if row is taken else "; an older match")) for rank, row in enumerate(usable, 1)]
    table += [_candidate(r, None, False, f"matches TlsCertificateName but {unusable(r, at)}")
              for r in matches if unusable(r, at) is not None]
    table += [_candidate(r, None, False, "not the certificate TlsCertificateName names")
              for r in rows if not any(r is m for m in matches)]
    missing = not matches
    if parsed is None:
        summary = f"TlsCertificateName {wanted!r} is not of the form <I>issuer<S>subject: no certificate can match"
    elif missing:
        summary = (f"no certificate has the issuer and subject TlsCertificateName names ({wanted}): delivery "
                   f"fails with 454 4.7.5 and event 12014")
    elif taken is None:
        summary = f"the certificate TlsCertificateName names ({wanted}) is unusable {when}"
    else:
        summary = f"presents {taken.get('thumbprint')}, named by TlsCertificateName ({wanted}) {when}"
    return OutboundChoice(present(taken.get("thumbprint")) if taken else None, wanted, RULE_TLS_CERTIFICATE_NAME,
                          _frame(table), missing, pd.Timestamp(at), summary,
                          _unsure(matches, unusable, lambda some: _usable(some, at), at))


def _ranked(verdicts: list[tuple[dict, tuple[str | None, list[str]]]]) -> list[tuple[dict, list[str]]]:
    """The candidates among ``verdicts`` (each row with why it is not one, or None, and what was assumed)
    in the order the transport takes them: the newest first, self-signed ones after all others."""
    passing = [(row, notes) for row, (reason, notes) in verdicts if reason is None]
    return (sorted((p for p in passing if not _self_signed(p[0])), key=_newest_first)
            + sorted((p for p in passing if _self_signed(p[0])), key=_newest_first))


def _usable(matches: list[dict], at: datetime) -> list[dict]:
    """The certificates TlsCertificateName names that are usable at ``at``, the newest first."""
    return sorted((r for r in matches if unusable(r, at) is None), key=lambda r: _newest_first((r, [])))


def _skip_reason(row: dict, name: str, at: datetime) -> tuple[str | None, list[str]]:
    """Why the certificate is not a candidate (None when it is), and what had to be assumed."""
    notes: list[str] = []
    if covering_name(row.get("dns_names"), name) is None:
        return f"does not cover {name}", notes
    services = row.get("services")
    if isinstance(services, (tuple, list)):
        if "SMTP" not in services:
            return "not enabled for SMTP", notes
    else:
        notes.append("services unknown (no export says)")
    if flag(row.get("server_auth")) is False:
        return "its key usage does not allow server authentication", notes
    if flag(row.get("server_auth")) is not True:
        notes.append("server authentication unknown")
    reason = unusable(row, at)
    if reason:
        return reason, notes
    if flag(row.get("has_private_key")) is not True:
        notes.append("private key unknown (no export says)")
    return None, notes


def unusable(row: dict, at: datetime) -> str | None:
    """Why the transport cannot use the certificate at ``at`` (no private key, a Status Exchange
    reported unusable, outside its dates), or None.

    >>> from datetime import datetime, timezone
    >>> unusable({"not_after": pd.Timestamp("2025-03-01", tz="UTC")}, datetime(2025, 3, 20, tzinfo=timezone.utc))
    'expired on 2025-03-01'

    Status=DateInvalid from an export made after it expired does not make it unusable before:

    >>> unusable({"status": "DateInvalid", "not_before": pd.Timestamp("2024-03-01", tz="UTC"),
    ...           "not_after": pd.Timestamp("2025-03-01", tz="UTC")}, datetime(2025, 2, 20, tzinfo=timezone.utc))
    """
    if flag(row.get("has_private_key")) is False:
        return "has no private key"
    status = (present(row.get("status")) or "").replace(" ", "").casefold()
    start, end = utc_stamp(row.get("not_before")), utc_stamp(row.get("not_after"))
    # Status is what Exchange computed when the export ran: DateInvalid then says nothing of ``at``
    # when the dates are known (an export made after the certificate expired, of failures before)
    dated = status == "dateinvalid" and start is not None and end is not None
    if status in UNUSABLE_STATUS and not dated:
        return f"Exchange reported Status={row.get('status')}"
    if start is not None and at < start:
        return f"not yet valid ({start:%Y-%m-%d})"
    if end is not None and at > end:
        return f"expired on {end:%Y-%m-%d}"
    return None


def second_pass(row: dict) -> dict:
    """``row`` with each date left unsettled in the hour the clocks go back over read as its second pass
    (:data:`~exlab.certs.merge.LATER_COLUMNS`); ``row`` itself when none is.

    >>> row = {"not_after": pd.Timestamp("2026-10-25 00:30", tz="UTC"),
    ...        "not_after_later": pd.Timestamp("2026-10-25 01:30", tz="UTC")}
    >>> second_pass(row)["not_after"], second_pass({"not_after_later": pd.NaT}) == {"not_after_later": pd.NaT}
    (Timestamp('2026-10-25 01:30:00+0000', tz='UTC'), True)
    """
    later = {column: row[name] for column, name in LATER_COLUMNS.items() if present(row.get(name)) is not None}
    return {**row, **later} if later else row


def unsure_usable(row: dict, at: datetime, reason: Callable[[dict, datetime], str | None] = unusable) -> str | None:
    """Why whether the certificate could be used at ``at`` is unsure: ``reason`` (default :func:`unusable`)
    answers one way for the first pass of a date left unsettled in the hour the clocks go back over, and
    the other for the second; None when they agree (or no date is unsettled).

    >>> from datetime import datetime, timezone
    >>> row = {"thumbprint": "AB" * 20, "not_after": pd.Timestamp("2026-10-25 00:30", tz="UTC"),
    ...        "not_after_later": pd.Timestamp("2026-10-25 01:30", tz="UTC")}
    >>> print(unsure_usable(row, datetime(2026, 10, 25, 1, tzinfo=timezone.utc)))  # doctest: +NORMALIZE_WHITESPACE
    whether ABABABABABABABABABABABABABABABABABABABAB could be used at 2026-10-25 01:00:00 UTC is unsure: its NotAfter
    is 2026-10-25 00:30:00 or 2026-10-25 01:30:00 UTC, printed in the hour the clocks go back over, and no file with
    the certificate's exact times (its .cer or .pem) tells which pass: read as the first, expired on 2026-10-25;
    as the second, usable
    >>> unsure_usable(row, datetime(2026, 10, 25, 2, tzinfo=timezone.utc)) is None     # expired either way
    True
    """
    later = second_pass(row)
    if later is row:
        return None
    first, second = reason(row, at), reason(later, at)
    if (first is None) == (second is None):
        return None
    return (f"whether {row.get('thumbprint')} could be used at {at:%Y-%m-%d %H:%M:%S} UTC is unsure: "
            f"{_unsettled(row)}, {UNSETTLED}: read as the first, {first or 'usable'}; "
            f"as the second, {second or 'usable'}")


def _unsure(rows: list[dict], reason: Callable[[dict, datetime], str | None],
            rank: Callable[[list[dict]], list[dict]], at: datetime) -> tuple[str, ...]:
    """What dates left unsettled in the hour the clocks go back over leave unsure in a choice among ``rows``
    (``rank``: the candidates of some rows in the order the transport takes them): each row that ``reason``
    takes or leaves by the pass (:func:`unsure_usable`), with the certificate presented when it is read as
    the second; and each candidate of the taken one's kind that may be newer than it by the pass."""
    ranked = rank(rows)
    taken = ranked[0] if ranked else None
    texts = []
    for index, row in enumerate(rows):
        text = unsure_usable(row, at, reason)
        if text is not None:
            then = rank([*rows[:index], second_pass(row), *rows[index + 1:]])
            texts.append(text + _instead(taken, then[0] if then else None))
    for row in ranked[1:]:
        if _self_signed(row) == _self_signed(taken) and _may_be_newer(row, taken):
            texts.append(f"whether {row.get('thumbprint')} is newer than {taken.get('thumbprint')}, the one presented, "
                         f"is unsure: {_unsettled_of(row, taken)}, {UNSETTLED}: the transport may present "
                         f"{row.get('thumbprint')} instead")
    return tuple(texts)


def _instead(taken: dict | None, then: dict | None) -> str:
    """What reading a date as its second pass changes in the certificate presented (``taken``, ``then``).

    >>> _instead({"thumbprint": "AB"}, None), _instead({"thumbprint": "AB"}, {"thumbprint": "AB"})
    (', and the transport presents no certificate instead of AB', '; either way the transport presents AB')
    """
    def named(row: dict | None) -> str:
        return str(row.get("thumbprint")) if row is not None else "no certificate"
    if named(taken) == named(then):
        return f"; either way the transport presents {named(taken)}"
    return f", and the transport presents {named(then)} instead of {named(taken)}"


def _may_be_newer(row: dict, than: dict) -> bool:
    """Whether ``row``'s NotBefore read as its second pass is later than ``than``'s read as its first."""
    latest, earliest = utc_stamp(second_pass(row).get("not_before")), utc_stamp(than.get("not_before"))
    return latest is not None and earliest is not None and latest > earliest


def _unsettled(row: dict, whose: str = "its") -> str:
    """The dates of ``row`` left unsettled, each with both its readings ("" when none is).

    >>> _unsettled({"not_before": pd.Timestamp("2025-10-26 00:10", tz="UTC"),
    ...             "not_before_later": pd.Timestamp("2025-10-26 01:10", tz="UTC")}, "AB's")
    "AB's NotBefore is 2025-10-26 00:10:00 or 2025-10-26 01:10:00 UTC"
    """
    return " and ".join(f"{whose} {DATE_NAMES[column]} is {utc_stamp(row[column]):%Y-%m-%d %H:%M:%S} or "
                        f"{utc_stamp(row[later]):%Y-%m-%d %H:%M:%S} UTC" for column, later in LATER_COLUMNS.items()
                        if present(row.get(later)) is not None and present(row.get(column)) is not None)


def _unsettled_of(*rows: dict) -> str:
    """The dates left unsettled of several certificates, each named by its thumbprint."""
    return " and ".join(filter(None, (_unsettled(row, f"{row.get('thumbprint')}'s") for row in rows)))


def _why_passed(row: dict, notes: list[str], rank: int) -> str:
    kind = "self-signed, only a fallback" if _self_signed(row) else "covers the name, enabled for SMTP, valid"
    order = "newest" if rank == 1 else f"number {rank} by NotBefore"
    return "; ".join([f"{kind} ({order})", *notes])


def _self_signed(row: dict) -> bool:
    return flag(row.get("is_self_signed")) is True or row.get("issuer_class") == "self-signed"


def _newest_first(item: tuple[dict, list]) -> tuple:
    start = utc_stamp(item[0].get("not_before"))
    return (-(start.value if start is not None else -(2**62)), str(item[0].get("thumbprint")))


def _candidate(row: dict, rank: int | None, taken: bool, why: str) -> dict:
    out = {column: row.get(column) for column in CANDIDATE_COLUMNS if column in row}
    out.update(rank=rank, taken=taken, why=why)
    return out


def _frame(records: list[dict]) -> pd.DataFrame:
    columns = {}
    for column, dtype in CANDIDATE_COLUMNS.items():
        values = [present(r.get(column)) for r in records]
        if dtype.startswith("datetime64"):
            columns[column] = pd.to_datetime(pd.Series(values, dtype="object"), utc=True).astype(dtype)
        else:
            columns[column] = pd.Series(pd.array(values, dtype=dtype))
    return pd.DataFrame(columns)
