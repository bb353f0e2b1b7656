"""Plots: Figures with the expected artists, built without pyplot state, rendered by Agg."""

from __future__ import annotations

import io

import matplotlib
import pandas as pd
from matplotlib.collections import PathCollection
from matplotlib.figure import Figure

from exlab.analysis.timeline import failure_points, failures_per_bucket
from exlab.plots import plot_failures, plot_issuer_comparison, plot_sessions_by_certificate
from tests.analysis import frames as f

CERTS = f.certs(f.cert(f.PUBLIC, "public", "2024-06-01", not_after="2025-03-25", services=("IIS", "SMTP")),
                f.cert(f.INTERNAL, "internal", "2025-03-14 09:02:05"),
                f.cert(f.SELF, "self-signed", "2024-01-01", services=("IIS",), subject="CN=EX01"))


def _render(fig: Figure) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    return buffer.getvalue()


def _pyplot_figures() -> int:
    import matplotlib.pyplot as plt
    return len(plt.get_fignums())


def test_failures_plot_has_one_bar_per_bucket_and_a_marker_per_lifecycle_event():
    failures = f.failures(*((f"2025-03-20 {h:02d}:{m:02d}", f.UNTRUSTED) for h in (9, 10, 12) for m in (5, 35)))
    counts = failures_per_bucket(failure_points(failures=failures), tz="Europe/Warsaw")
    before = _pyplot_figures()
    fig = plot_failures(counts, certs=CERTS, fix=pd.Timestamp("2025-03-21 11:05", tz="UTC"), tz="Europe/Warsaw")
    ax = fig.axes[0]
    assert [p.get_height() for p in ax.patches] == [2, 2, 0, 2]
    # NotBefore of the internal certificate and the public one's expiry fall within 14 days; the
    # self-signed one is not enabled for SMTP; the public NotBefore and internal expiry are far away
    assert [line.get_label() for line in ax.lines] == [f"NotAfter {f.PUBLIC[:8]}", f"NotBefore {f.INTERNAL[:8]}", "fix"]
    assert ax.get_xlabel() == "time (Europe/Warsaw)"
    assert _render(fig).startswith(b"\x89PNG")
    assert _pyplot_figures() == before


def test_failures_plot_of_nothing_is_an_empty_figure():
    fig = plot_failures(failures_per_bucket(failure_points()))
    assert len(fig.axes[0].patches) == 0 and len(fig.axes[0].lines) == 0
    assert _render(fig).startswith(b"\x89PNG")


def test_sessions_plot_puts_each_certificate_on_its_row_by_outcome():
    sessions = f.sessions(f.session("2025-03-19 09:00", f.QUEUED, f.PUBLIC), f.session("2025-03-19 10:00", f.QUEUED, f.PUBLIC),
                          f.session("2025-03-20 09:14", f.UNTRUSTED), f.session("2025-03-20 09:29", f.UNTRUSTED),
                          f.session("2025-03-20 09:44", None, f.INTERNAL, tls="failed", tls_error="NoCredentials"))
    fig = plot_sessions_by_certificate(sessions, tz="UTC")
    ax = fig.axes[0]
    collections = [c for c in ax.collections if isinstance(c, PathCollection)]
    assert sorted(len(c.get_offsets()) for c in collections) == [1, 2, 2]
    assert [t.get_text() for t in ax.get_yticklabels()] == [f.INTERNAL[:8], f.PUBLIC[:8]]
    assert sorted(t.get_text() for t in ax.get_legend().get_texts()) == ["delivered", "rejected", "tls-failed"]
    assert _render(fig).startswith(b"\x89PNG")


def test_issuer_comparison_colours_by_class_and_marks_the_selected_one():
    fig = plot_issuer_comparison(CERTS, selected=f.INTERNAL, at=pd.Timestamp("2025-03-20 09:14", tz="UTC"))
    ax = fig.axes[0]
    colours = [matplotlib.colors.to_hex(p.get_facecolor()) for p in ax.patches]
    assert colours == [matplotlib.colors.to_hex(c) for c in ("tab:orange", "tab:green", "tab:red")]   # by NotBefore
    stars = [line for line in ax.lines if line.get_marker() == "*"]
    assert len(stars) == 1 and stars[0].get_ydata()[0] == 2       # the internal certificate's row
    assert sum(1 for line in ax.lines if line.get_label() == "onset") == 1
    assert all("$" not in t.get_text() or "\\$" in t.get_text() for t in ax.get_yticklabels())
    assert _render(fig).startswith(b"\x89PNG")


def test_evidence_text_with_dollars_is_not_mathtext():
    odd = f.certs(f.cert(f.INTERNAL, "internal", "2025-03-14", subject="CN=$x^2$ mail"))
    fig = plot_issuer_comparison(odd, title="cost $5 and $6")
    assert _render(fig).startswith(b"\x89PNG")
    assert fig.axes[0].get_title() == r"cost \$5 and \$6"
