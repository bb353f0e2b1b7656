"""Figures of an investigation. Each takes frames and returns a matplotlib Figure.

Figures are built with matplotlib's object API (``matplotlib.figure.Figure``), never
through pyplot, so nothing is left in a global figure list and any backend works
(Agg included). Times are plotted in UTC and labelled in the zone asked for (``tz``).
Labels taken from evidence are drawn as plain text (mathtext off).

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

ISSUER_COLOURS = {"public": "tab:green", "internal": "tab:red", "self-signed": "tab:orange",
                  "unknown": "tab:gray"}
OUTCOME_STYLE = {"delivered": ("o", "tab:green"), "rejected": ("x", "tab:red"),
                 "tls-failed": ("x", "tab:purple"), "disconnected": (".", "tab:gray")}
_WINDOW = pd.Timedelta(days=14)


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


def _legend(ax: Any, **placement: Any) -> None:
    """A legend with one entry per label (many artists share one), when there is any."""
    handles, labels = ax.get_legend_handles_labels()
    unique = dict(zip(labels, handles))
    if unique:
        ax.legend(unique.values(), unique.keys(), loc="upper left", fontsize="small", **placement)


def _smtp_certs(certs: pd.DataFrame | None) -> pd.DataFrame:
    if certs is None or certs.empty:
        return pd.DataFrame(columns=["thumbprint", "not_before", "not_after"])
    smtp = certs["services"].map(lambda s: s is None or (isinstance(s, tuple) and "SMTP" in s)) \
        if "services" in certs else pd.Series(True, index=certs.index)
    return certs[smtp.astype(bool)]


def plot_failures(counts: pd.DataFrame, *, certs: pd.DataFrame | None = None, fix: Any = None,
                  tz: str | None = None, title: str | None = None) -> Figure:
    """Failures per bucket (``failures_per_bucket``) with certificate lifecycle markers.

    Each SMTP certificate of ``certs`` adds a solid line at its NotBefore and a dashed
    one at its NotAfter, when they fall within 14 days of the failures; ``fix`` (a time)
    adds a green line. Returns the Figure; one Line2D per marker.

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
        starts = pd.DatetimeIndex(counts["start"])
        width = (starts[1:] - starts[:-1]).min() if len(starts) > 1 else pd.Timedelta(hours=1)
        ax.bar(starts.to_pydatetime(), counts["failures"].to_numpy(), width=width * 0.9, align="edge",
               color="tab:red", label="failures")
        low, high = starts.min() - _WINDOW, starts.max() + width + _WINDOW
    else:
        low = high = None
    for _, cert in _smtp_certs(certs).iterrows():
        for column, style, label in (("not_before", "-", "NotBefore"), ("not_after", "--", "NotAfter")):
            when = cert.get(column)
            if when is None or pd.isna(when) or (low is not None and not low <= when <= high):
                continue
            ax.axvline(when.to_pydatetime(), linestyle=style, color="tab:blue",
                       label=f"{label} {_short(cert.get('thumbprint'))}")
    if fix is not None and not pd.isna(fix):
        ax.axvline(pd.Timestamp(fix).to_pydatetime(), color="tab:green", linewidth=2, label="fix")
    ax.set_ylabel("failed deliveries")
    ax.set_title(_plain(title or "Failures to Exchange Online"))
    _time_axis(ax, tz)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(loc="upper left", fontsize="small")
    return fig


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
    frame = sessions.assign(_cert=sessions["cert_thumbprint"].astype("string").fillna("(none logged)")
                            if "cert_thumbprint" in sessions else "(none logged)")
    certs = sorted(frame["_cert"].unique())
    rows = {cert: i for i, cert in enumerate(certs)}
    for (cert, outcome), group in frame.groupby(["_cert", "outcome"], sort=True):
        marker, colour = OUTCOME_STYLE.get(outcome, (".", "black"))
        ax.scatter(pd.DatetimeIndex(group["start"]).to_pydatetime(), [rows[cert]] * len(group),
                   marker=marker, color=colour, label=_plain(outcome))
    ax.set_yticks(range(len(certs)), [_short(c) if c != "(none logged)" else c for c in certs])
    ax.set_ylim(-0.5, len(certs) - 0.5)
    ax.set_ylabel("certificate presented")
    ax.set_title(_plain(title or "SMTP send sessions by presented certificate"))
    _time_axis(ax, tz)
    _legend(ax)
    return fig


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
    if selected is None and "selected" in certs:
        chosen = certs.loc[certs["selected"].fillna(False).astype(bool), "thumbprint"]
        selected = None if chosen.empty else str(chosen.iloc[0])
    ordered = certs.sort_values("not_before", kind="stable", na_position="first").reset_index(drop=True)
    labels = []
    for i, cert in ordered.iterrows():
        start, stop = cert.get("not_before"), cert.get("not_after")
        klass = cert.get("issuer_class") if not pd.isna(cert.get("issuer_class", pd.NA)) else "unknown"
        if start is not None and not pd.isna(start) and stop is not None and not pd.isna(stop):
            ax.barh(i, mdates.date2num(stop.to_pydatetime()) - mdates.date2num(start.to_pydatetime()),
                    left=mdates.date2num(start.to_pydatetime()), height=0.6,
                    color=ISSUER_COLOURS.get(klass, "tab:gray"), label=_plain(klass))
        labels.append(_plain(f"{_short(cert.get('thumbprint'))} {_first_rdn(cert.get('subject'))}\n"
                             f"by {_first_rdn(cert.get('issuer'))}"))
        if selected and str(cert.get("thumbprint", "")).upper() == selected.upper() and not pd.isna(start):
            ax.add_line(Line2D([mdates.date2num(start.to_pydatetime())], [i], marker="*", markersize=16,
                               color="black", linestyle="none", label="selected for outbound TLS"))
    if at is not None and not pd.isna(at):
        ax.axvline(pd.Timestamp(at).to_pydatetime(), color="black", linestyle=":", label="onset")
    ax.set_yticks(range(len(labels)), labels, fontsize="small")
    ax.set_ylim(-0.5, max(len(labels), 1) - 0.5)
    ax.xaxis_date(tz or "UTC")
    ax.set_title(_plain(title or "Certificates covering the name, by issuer class and validity"))
    _time_axis(ax, tz)
    _legend(ax, bbox_to_anchor=(1.01, 1))
    return fig

