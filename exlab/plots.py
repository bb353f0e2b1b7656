"""Figures of an investigation. Each takes frames and returns a matplotlib Figure.

Figures are built with matplotlib's object API (``matplotlib.figure.Figure``), never
through pyplot, so nothing is left in a global figure list and any backend works
(Agg included). Times are plotted in UTC and labelled in the zone asked for (``tz``).
Labels taken from evidence are drawn as plain text (mathtext off).

Each figure has a ``describe_*`` twin in words, from the same frames, for the image's
alternative text (``image_alt``: read by the report template, escaped there).

>>> import pandas as pd
>>> from exlab.analysis.timeline import failures_per_bucket
>>> t = pd.to_datetime(["2025-03-20 09:14", "2025-03-20 09:29", "2025-03-20 11:02"], utc=True)
>>> fig = plot_failures(failures_per_bucket(pd.DataFrame({"time": t})), tz="Europe/Warsaw")
>>> len(fig.axes[0].patches)   # one bar per hour, 09:00 to 11:00
3
"""

from __future__ import annotations

from typing import Any

import matplotlib.dates as mdates
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from exlab.transport.protocol_log import send_sessions

ISSUER_COLOURS = {"public": "tab:green", "internal": "tab:red", "self-signed": "tab:orange",
                  "unknown": "tab:gray"}
OUTCOME_STYLE = {"delivered": ("o", "tab:green"), "rejected": ("x", "tab:red"),
                 "tls-failed": ("x", "tab:purple"), "disconnected": (".", "tab:gray")}
_WINDOW = pd.Timedelta(days=14)
_LIFECYCLE = {"not_before": ("-", "NotBefore", "valid from"), "not_after": ("--", "NotAfter", "expires")}
_NONE_LOGGED = "(none logged)"
_FAILURES_TITLE = "Failures to Exchange Online"
_SESSIONS_TITLE = "SMTP send sessions by presented certificate"
_ISSUERS_TITLE = "Certificates covering the name, by issuer class and validity"


def _plain(text: Any) -> str:
    """Evidence text for a label: dollar signs escaped so mathtext never interprets it."""
    return str(text).replace("$", r"\$")


def _short(thumbprint: Any) -> str:
    return "?" if thumbprint is None or pd.isna(thumbprint) else str(thumbprint)[:8]


def _first_rdn(name: Any, width: int = 40) -> str:
    """The first part of a distinguished name (``CN=...``), shortened for a label."""
    text = "?" if name is None or pd.isna(name) else str(name).split(",")[0]
    return text if len(text) <= width else text[: width - 1] + "…"


def _time_axis(ax: Any, tz: str | None) -> None:
    locator = mdates.AutoDateLocator(tz=tz or "UTC")
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator, tz=tz or "UTC"))
    ax.set_xlabel(f"time ({tz or 'UTC'})")


def _legend(ax: Any) -> None:
    """A legend with one entry per label (many artists share one), when there is any, beside
    the axes: never over the data."""
    handles, labels = ax.get_legend_handles_labels()
    unique = dict(zip(labels, handles))
    if unique:
        ax.legend(unique.values(), unique.keys(), loc="upper left", fontsize="small", bbox_to_anchor=(1.01, 1))


def _smtp_certs(certs: pd.DataFrame | None) -> pd.DataFrame:
    if certs is None or certs.empty:
        return pd.DataFrame(columns=["thumbprint", "not_before", "not_after"])
    smtp = certs["services"].map(lambda s: s is None or (isinstance(s, tuple) and "SMTP" in s)) \
        if "services" in certs else pd.Series(True, index=certs.index)
    return certs[smtp.astype(bool)]


def _given(value: Any) -> bool:
    return value is not None and not pd.isna(value)


def _buckets(counts: pd.DataFrame) -> tuple[pd.DatetimeIndex, pd.Timedelta]:
    """The bucket starts of non-empty ``counts`` and their width (the smallest step; an hour alone)."""
    starts = pd.DatetimeIndex(counts["start"])
    width = (starts[1:] - starts[:-1]).min() if len(starts) > 1 else pd.Timedelta(hours=1)
    return starts, width


def _lifecycle_marks(counts: pd.DataFrame, certs: pd.DataFrame | None) -> list[tuple[str, pd.Timestamp, pd.Series]]:
    """(column, time, certificate) of each SMTP certificate's NotBefore and NotAfter that
    the failures plot marks: all of them without failures, else those within 14 days."""
    window = None
    if not counts.empty:
        starts, width = _buckets(counts)
        window = (starts.min() - _WINDOW, starts.max() + width + _WINDOW)
    marks = []
    for _, cert in _smtp_certs(certs).iterrows():
        for column in _LIFECYCLE:
            when = cert.get(column)
            if _given(when) and (window is None or window[0] <= when <= window[1]):
                marks.append((column, when, cert))
    return marks


def plot_failures(counts: pd.DataFrame, *, certs: pd.DataFrame | None = None, fix: Any = None,
                  tz: str | None = None, title: str | None = None, onset: Any = None) -> Figure:
    """Failures per bucket (``failures_per_bucket``) with certificate lifecycle markers.

    Each SMTP certificate of ``certs`` adds a solid line at its NotBefore and a dashed
    one at its NotAfter, when they fall within 14 days of the failures; ``fix`` (a time)
    adds a green line, ``onset`` (the first failure) a dotted black one. Returns the
    Figure; one Line2D per marker.

    >>> certs = pd.DataFrame({"thumbprint": ["3F" * 20], "services": [("IIS", "SMTP")],
    ...     "not_before": pd.to_datetime(["2025-03-20 08:00"], utc=True),
    ...     "not_after": pd.to_datetime(["2027-03-20 08:00"], utc=True)})
    >>> counts = pd.DataFrame({"start": pd.to_datetime(["2025-03-20 09:00"], utc=True), "failures": [4]})
    >>> fig = plot_failures(counts, certs=certs, fix=pd.Timestamp("2025-03-21 11:05", tz="UTC"))
    >>> [line.get_label() for line in fig.axes[0].lines]
    ['NotBefore 3F3F3F3F', 'fix']
    """
    fig = Figure(figsize=(10, 4), layout="constrained")
    ax = fig.add_subplot()
    if not counts.empty:
        starts, width = _buckets(counts)
        ax.bar(starts.to_pydatetime(), counts["failures"].to_numpy(), width=width * 0.9, align="edge",
               color="tab:red", label="failures")
    for column, when, cert in _lifecycle_marks(counts, certs):
        style, label, _ = _LIFECYCLE[column]
        ax.axvline(when.to_pydatetime(), linestyle=style, color="tab:blue",
                   label=f"{label} {_short(cert.get('thumbprint'))}")
    if _given(onset):
        ax.axvline(pd.Timestamp(onset).to_pydatetime(), color="black", linestyle=":", label="first failure")
    if _given(fix):
        ax.axvline(pd.Timestamp(fix).to_pydatetime(), color="tab:green", linewidth=2, label="fix")
    ax.set_ylabel("failed deliveries")
    ax.set_title(_plain(title or _FAILURES_TITLE))
    _time_axis(ax, tz)
    _legend(ax)
    return fig


def _presented(sessions: pd.DataFrame) -> pd.Series:
    """The thumbprint each session presented, ``(none logged)`` where the log names none."""
    if "cert_thumbprint" not in sessions:
        return pd.Series(_NONE_LOGGED, index=sessions.index, dtype="string")
    return sessions["cert_thumbprint"].astype("string").fillna(_NONE_LOGGED)


def plot_sessions_by_certificate(sessions: pd.DataFrame, *, tz: str | None = None,
                                 title: str | None = None) -> Figure:
    """Each SMTP send session as a point on the row of the certificate it presented.

    Markers say the outcome (delivered o green, refused x red, TLS failed x purple); one
    collection per (certificate, outcome) pair.

    >>> s = pd.DataFrame({"start": pd.to_datetime(["2025-03-20 09:00", "2025-03-20 10:00", "2025-03-21 12:00"], utc=True),
    ...     "cert_thumbprint": ["AA" * 20, "BB" * 20, "AA" * 20], "outcome": ["delivered", "rejected", "delivered"]})
    >>> fig = plot_sessions_by_certificate(s)
    >>> len(fig.axes[0].collections), [t.get_text() for t in fig.axes[0].get_yticklabels()]
    (2, ['AAAAAAAA', 'BBBBBBBB'])
    """
    fig = Figure(figsize=(10, 3), layout="constrained")
    ax = fig.add_subplot()
    sessions = send_sessions(sessions)
    frame = sessions.assign(_cert=_presented(sessions))
    certs = sorted(frame["_cert"].unique())
    rows = {cert: i for i, cert in enumerate(certs)}
    for (cert, outcome), group in frame.groupby(["_cert", "outcome"], sort=True):
        marker, colour = OUTCOME_STYLE.get(outcome, (".", "black"))
        ax.scatter(pd.DatetimeIndex(group["start"]).to_pydatetime(), [rows[cert]] * len(group),
                   marker=marker, color=colour, label=_plain(outcome))
    ax.set_yticks(range(len(certs)), [_short(c) if c != _NONE_LOGGED else c for c in certs])
    ax.set_ylim(-0.5, len(certs) - 0.5)
    ax.set_ylabel("certificate presented")
    ax.set_title(_plain(title or _SESSIONS_TITLE))
    _time_axis(ax, tz)
    _legend(ax)
    return fig


def _selected(certs: pd.DataFrame, selected: str | None) -> str | None:
    """The thumbprint given, else the one the ``selected`` column marks, else None."""
    if selected is None and "selected" in certs:
        chosen = certs.loc[certs["selected"].fillna(False).astype(bool), "thumbprint"]
        selected = None if chosen.empty else str(chosen.iloc[0])
    return selected


def _is_selected(cert: pd.Series, selected: str | None) -> bool:
    return bool(selected) and str(cert.get("thumbprint", "")).upper() == selected.upper()


def _issuer_class(cert: pd.Series) -> str:
    klass = cert.get("issuer_class")
    return "unknown" if klass is None or pd.isna(klass) else str(klass)


def _cert_label(cert: pd.Series, separator: str = " ") -> str:
    """``AABBCCDD CN=subject`` and ``by CN=issuer`` (first parts), joined by ``separator``."""
    return (f"{_short(cert.get('thumbprint'))} {_first_rdn(cert.get('subject'))}{separator}"
            f"by {_first_rdn(cert.get('issuer'))}")


def _by_not_before(certs: pd.DataFrame) -> pd.DataFrame:
    return certs.sort_values("not_before", kind="stable", na_position="first").reset_index(drop=True)


def plot_issuer_comparison(certs: pd.DataFrame, *, selected: str | None = None, at: Any = None,
                           tz: str | None = None, title: str | None = None) -> Figure:
    """The certificates covering a name: one bar per certificate over its validity,
    coloured by issuer class, the one the transport selects marked with a star.

    ``certs`` has trust columns (``issuer_class``), e.g. ``Case.compare_issuers()``, whose
    ``selected`` column marks the choice when ``selected`` is not given; ``at`` draws a line
    (the onset, say).

    >>> certs = pd.DataFrame({"thumbprint": ["AA" * 20, "BB" * 20], "subject": ["CN=mail", "CN=mail"],
    ...     "issuer": ["CN=Public CA", "CN=Contoso Issuing CA 01"], "issuer_class": ["public", "internal"],
    ...     "not_before": pd.to_datetime(["2024-06-01", "2025-03-14"], utc=True),
    ...     "not_after": pd.to_datetime(["2025-06-01", "2027-03-14"], utc=True)})
    >>> fig = plot_issuer_comparison(certs, selected="BB" * 20, at=pd.Timestamp("2025-03-20", tz="UTC"))
    >>> len(fig.axes[0].patches), len(fig.axes[0].lines)   # two bars; the star and the line
    (2, 2)
    """
    fig = Figure(figsize=(10, 1.6 + 0.8 * max(len(certs), 1)), layout="constrained")
    ax = fig.add_subplot()
    selected = _selected(certs, selected)
    ordered = _by_not_before(certs)
    labels = []
    for i, cert in ordered.iterrows():
        start, stop = cert.get("not_before"), cert.get("not_after")
        klass = _issuer_class(cert)
        if start is not None and not pd.isna(start) and stop is not None and not pd.isna(stop):
            ax.barh(i, mdates.date2num(stop.to_pydatetime()) - mdates.date2num(start.to_pydatetime()),
                    left=mdates.date2num(start.to_pydatetime()), height=0.6,
                    color=ISSUER_COLOURS.get(klass, "tab:gray"), label=_plain(klass))
        labels.append(_plain(_cert_label(cert, "\n")))
        if _is_selected(cert, selected) and not pd.isna(start):
            ax.add_line(Line2D([mdates.date2num(start.to_pydatetime())], [i], marker="*", markersize=16,
                               color="black", linestyle="none", label="selected for outbound TLS"))
    if at is not None and not pd.isna(at):
        ax.axvline(pd.Timestamp(at).to_pydatetime(), color="black", linestyle=":", label="onset")
    ax.set_yticks(range(len(labels)), labels, fontsize="small")
    ax.set_ylim(-0.5, max(len(labels), 1) - 0.5)
    ax.xaxis_date(tz or "UTC")
    ax.set_title(_plain(title or _ISSUERS_TITLE))
    _time_axis(ax, tz)
    _legend(ax)
    return fig



def image_alt(text: str) -> dict[str, dict[str, str]]:
    """IPython display metadata giving a figure's PNG its alternative text.

    The report template (``exlab/report_template``) writes it, HTML-escaped, into the
    image's ``alt``: ``display(fig, metadata=image_alt(describe_failures(counts)))``.

    >>> image_alt("Failed deliveries per hour: 3 failures")
    {'image/png': {'alt': 'Failed deliveries per hour: 3 failures'}}
    """
    return {"image/png": {"alt": text}}


def _at(value: Any, tz: str | None) -> str:
    """A time in words, in the zone the figure is labelled in."""
    stamp = pd.Timestamp(value)
    stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp
    return stamp.tz_convert(tz or "UTC").strftime("%Y-%m-%d %H:%M")


def _many(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def _span(first: Any, last: Any, tz: str | None) -> str:
    return f"at {_at(first, tz)}" if first == last else f"from {_at(first, tz)} to {_at(last, tz)}"


def _period(width: pd.Timedelta) -> str:
    """A bucket width in words: ``hour``, ``day``, ``15-minute period``."""
    named = {pd.Timedelta(hours=1): "hour", pd.Timedelta(days=1): "day"}
    return named.get(width) or f"{width / pd.Timedelta(minutes=1):g}-minute period"


def describe_failures(counts: pd.DataFrame, *, certs: pd.DataFrame | None = None, fix: Any = None,
                      tz: str | None = None, title: str | None = None, onset: Any = None) -> str:
    """What :func:`plot_failures` shows, in words: the span, the total, the first and busiest
    bucket, and each vertical line. Takes the same arguments; times in ``tz``.

    >>> counts = pd.DataFrame({"start": pd.to_datetime(["2025-03-20 09:00", "2025-03-20 10:00",
    ...     "2025-03-20 11:00"], utc=True), "failures": [4, 0, 7]})
    >>> certs = pd.DataFrame({"thumbprint": ["3F" * 20], "subject": ["CN=mail.contoso.com"],
    ...     "issuer": ["CN=Contoso Issuing CA 01, DC=contoso"], "services": [("IIS", "SMTP")],
    ...     "not_before": pd.to_datetime(["2025-03-20 08:12"], utc=True),
    ...     "not_after": pd.to_datetime(["2027-03-20 08:12"], utc=True)})
    >>> print(describe_failures(counts, certs=certs, tz="Europe/Warsaw"))  # doctest: +NORMALIZE_WHITESPACE
    Failures to Exchange Online. Bar chart of failed deliveries per hour from 2025-03-20 10:00 to
    2025-03-20 13:00 (Europe/Warsaw): 11 failures in 3 hours, the first in the hour from
    2025-03-20 10:00, the most (7) in the hour from 2025-03-20 12:00, none in 1 of them.
    Vertical lines: certificate 3F3F3F3F CN=mail.contoso.com by CN=Contoso Issuing CA 01,
    valid from 2025-03-20 09:12.
    """
    zone = tz or "UTC"
    words = [f"{title or _FAILURES_TITLE}."]
    total = int(counts["failures"].sum()) if not counts.empty else 0
    if total == 0:
        words.append("No failed delivery to show.")
    else:
        starts, width = _buckets(counts)
        period = _period(width)
        failures = counts["failures"].to_numpy()
        first, busiest = starts[(failures > 0).argmax()], starts[failures.argmax()]
        quiet = int((failures == 0).sum())
        words.append(f"Bar chart of failed deliveries per {period} from {_at(starts.min(), zone)} to "
                     f"{_at(starts.max() + width, zone)} ({zone}): {_many(total, 'failure')} in "
                     f"{_many(len(starts), period)}, the first in the {period} from {_at(first, zone)}, "
                     f"the most ({failures.max()}) in the {period} from {_at(busiest, zone)}"
                     + (f", none in {quiet} of them." if quiet else "."))
    lines = [f"certificate {_cert_label(cert)}, {_LIFECYCLE[column][2]} {_at(when, zone)}"
             for column, when, cert in _lifecycle_marks(counts, certs)]
    if _given(onset):
        lines.append(f"first failure at {_at(onset, zone)}")
    if _given(fix):
        lines.append(f"mail flowing again (fix) at {_at(fix, zone)}")
    if lines:
        words.append(f"Vertical lines: {'; '.join(lines)}.")
    return " ".join(words)


def describe_sessions_by_certificate(sessions: pd.DataFrame, *, tz: str | None = None,
                                     title: str | None = None) -> str:
    """What :func:`plot_sessions_by_certificate` shows, in words: per presented certificate,
    how many sessions ended how, and when. Takes the same arguments; times in ``tz``.

    >>> s = pd.DataFrame({"start": pd.to_datetime(["2025-03-20 09:00", "2025-03-20 10:00", "2025-03-21 12:00"], utc=True),
    ...     "cert_thumbprint": ["AA" * 20, "BB" * 20, "AA" * 20], "outcome": ["delivered", "rejected", "delivered"],
    ...     "connector": ["Outbound to Office 365"] * 3})
    >>> print(describe_sessions_by_certificate(s))  # doctest: +NORMALIZE_WHITESPACE
    SMTP send sessions by presented certificate. Dot chart of 3 SMTP send sessions through send
    connector "Outbound to Office 365" from 2025-03-20 09:00 to 2025-03-21 12:00 (UTC), one row per
    certificate presented: AAAAAAAA: 2 delivered from 2025-03-20 09:00 to 2025-03-21 12:00;
    BBBBBBBB: 1 rejected at 2025-03-20 10:00.
    """
    zone = tz or "UTC"
    words = [f"{title or _SESSIONS_TITLE}."]
    sessions = send_sessions(sessions)
    if sessions.empty:
        return " ".join([*words, "No SMTP send session to show."])
    connectors = sorted({str(c) for c in sessions["connector"].dropna()}) if "connector" in sessions else []
    through = (f" through send connector{'' if len(connectors) == 1 else 's'} "
               + ", ".join(f'"{name}"' for name in connectors)
               if connectors else "")
    rows = []
    for cert, group in sessions.groupby(_presented(sessions), sort=True):
        ends = [f"{len(ended)} {outcome} {_span(ended['start'].min(), ended['start'].max(), zone)}"
                for outcome, ended in group.groupby(group["outcome"].astype("string"), sort=True)]
        rows.append(f"{_short(cert) if cert != _NONE_LOGGED else cert}: {', '.join(ends)}")
    words.append(f"Dot chart of {_many(len(sessions), 'SMTP send session')}{through} "
                 f"{_span(sessions['start'].min(), sessions['start'].max(), zone)} ({zone}), "
                 "one row per certificate presented: "
                 f"{'; '.join(rows)}.")
    return " ".join(words)


def describe_issuer_comparison(certs: pd.DataFrame, *, selected: str | None = None, at: Any = None,
                               tz: str | None = None, title: str | None = None) -> str:
    """What :func:`plot_issuer_comparison` shows, in words: each certificate with its issuer
    class and validity, the one selected, and the line. Takes the same arguments; times in ``tz``.

    >>> certs = pd.DataFrame({"thumbprint": ["AA" * 20, "BB" * 20], "subject": ["CN=mail", "CN=mail"],
    ...     "issuer": ["CN=Public CA", "CN=Contoso Issuing CA 01"], "issuer_class": ["public", "internal"],
    ...     "not_before": pd.to_datetime(["2024-06-01", "2025-03-14"], utc=True),
    ...     "not_after": pd.to_datetime(["2025-06-01", "2027-03-14"], utc=True)})
    >>> print(describe_issuer_comparison(certs, selected="BB" * 20, at=pd.Timestamp("2025-03-20 09:14", tz="UTC")))
    ... # doctest: +NORMALIZE_WHITESPACE
    Certificates covering the name, by issuer class and validity. Bar chart of the validity of
    2 certificates (UTC), by NotBefore: AAAAAAAA CN=mail by CN=Public CA, public, valid from
    2024-06-01 00:00 to 2025-06-01 00:00; BBBBBBBB CN=mail by CN=Contoso Issuing CA 01, internal,
    valid from 2025-03-14 00:00 to 2027-03-14 00:00, selected for outbound TLS. Dotted line at
    the onset, 2025-03-20 09:14.
    """
    zone = tz or "UTC"
    words = [f"{title or _ISSUERS_TITLE}."]
    if certs.empty:
        return " ".join([*words, "No certificate to show."])
    selected = _selected(certs, selected)
    rows = []
    for _, cert in _by_not_before(certs).iterrows():
        start, stop = cert.get("not_before"), cert.get("not_after")
        valid = (f"valid from {_at(start, zone)} to {_at(stop, zone)}" if _given(start) and _given(stop)
                 else "validity unknown")
        rows.append(f"{_cert_label(cert)}, {_issuer_class(cert)}, {valid}"
                    + (", selected for outbound TLS" if _is_selected(cert, selected) else ""))
    words.append(f"Bar chart of the validity of {_many(len(rows), 'certificate')} ({zone}), by NotBefore: "
                 f"{'; '.join(rows)}.")
    if _given(at):
        words.append(f"Dotted line at the onset, {_at(at, zone)}.")
    return " ".join(words)
