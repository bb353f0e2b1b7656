"""Plots: Figures with the expected artists, built without pyplot state, rendered by Agg."""

from __future__ import annotations

import inspect
import io

import matplotlib
import pandas as pd
from matplotlib.collections import PathCollection
from matplotlib.figure import Figure

from exlab import plots
from exlab.analysis.timeline import failure_points, failures_per_bucket
from exlab.plots import (
    describe_failures,
    describe_issuer_comparison,
    describe_sessions_by_certificate,
    plot_failures,
    plot_issuer_comparison,
    plot_sessions_by_certificate,
)
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


FIX = pd.Timestamp("2025-03-21 11:05", tz="UTC")


def _six_failures() -> pd.DataFrame:
    """Two failures in each of the hours 09, 10 and 12 UTC (10, 11 and 13 in Warsaw)."""
    failures = f.failures(*((f"2025-03-20 {h:02d}:{m:02d}", f.UNTRUSTED) for h in (9, 10, 12) for m in (5, 35)))
    return failures_per_bucket(failure_points(failures=failures), tz="Europe/Warsaw")


def _five_sessions() -> pd.DataFrame:
    return f.sessions(f.session("2025-03-19 09:00", f.QUEUED, f.PUBLIC), f.session("2025-03-19 10:00", f.QUEUED, f.PUBLIC),
                      f.session("2025-03-20 09:14", f.UNTRUSTED), f.session("2025-03-20 09:29", f.UNTRUSTED),
                      f.session("2025-03-20 09:44", None, f.INTERNAL, tls="failed", tls_error="NoCredentials"))


def test_failures_plot_has_one_bar_per_bucket_and_a_marker_per_lifecycle_event():
    counts = _six_failures()
    before = _pyplot_figures()
    fig = plot_failures(counts, certs=CERTS, fix=FIX, tz="Europe/Warsaw")
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
    fig = plot_sessions_by_certificate(_five_sessions(), tz="UTC")
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


def test_failures_description_says_the_span_the_counts_and_each_line_the_plot_draws():
    counts = _six_failures()
    text = describe_failures(counts, certs=CERTS, fix=FIX, tz="Europe/Warsaw", title="Failed deliveries per hour")
    assert text.startswith("Failed deliveries per hour. Bar chart of failed deliveries per hour from "
                           "2025-03-20 10:00 to 2025-03-20 14:00 (Europe/Warsaw): 6 failures in 4 hours, "
                           "the first in the hour from 2025-03-20 10:00, the most (2) in the hour from "
                           "2025-03-20 10:00, none in 1 of them.")
    lines = text.split("Vertical lines: ", 1)[1].rstrip(".").split("; ")
    # the same lines as the figure, in its order, with their times in Warsaw
    assert [line.get_label() for line in plot_failures(counts, certs=CERTS, fix=FIX).axes[0].lines] == \
        [f"NotAfter {f.PUBLIC[:8]}", f"NotBefore {f.INTERNAL[:8]}", "fix"]
    assert lines == [(f"certificate {f.PUBLIC[:8]} CN=mail.contoso.com by CN=exlab Lab Public Server CA 01, "
                      "expires 2025-03-25 01:00"),
                     (f"certificate {f.INTERNAL[:8]} CN=mail.contoso.com by CN=Contoso Issuing CA 01, "
                      "valid from 2025-03-14 10:02"),
                     "mail flowing again (fix) at 2025-03-21 12:05"]


def test_failures_description_of_nothing_says_so_and_names_every_smtp_certificate():
    text = describe_failures(failures_per_bucket(failure_points()), certs=CERTS)
    assert "No failed delivery to show." in text
    assert f.SELF[:8] not in text, "the self-signed certificate is not enabled for SMTP, the plot leaves it out"
    assert text.count("certificate ") == 4      # both dates of the public and the internal one


def test_failures_description_names_other_bucket_widths():
    points = failure_points(failures=f.failures(("2025-03-20 09:05", f.UNTRUSTED), ("2025-03-20 09:20", f.UNTRUSTED),
                                                ("2025-03-21 09:05", f.UNTRUSTED)))
    assert "3 failures in 2 days" in describe_failures(failures_per_bucket(points, bucket="1D"))
    assert "3 failures in 97 15-minute periods" in describe_failures(failures_per_bucket(points, bucket="15min"))


def test_sessions_description_counts_each_certificate_by_outcome_and_names_the_connector():
    sessions = _five_sessions()
    sessions = pd.concat([sessions, f.sessions(f.session("2025-03-20 10:00", None, None, tls="failed",
                                                         tls_error="SEC_E_NO_CREDENTIALS"))], ignore_index=True)
    text = describe_sessions_by_certificate(sessions, tz="Europe/Warsaw")
    assert text == ("SMTP send sessions by presented certificate. Dot chart of 6 SMTP send sessions through send "
                    'connector "Outbound to Office 365" from 2025-03-19 10:00 to 2025-03-20 11:00 (Europe/Warsaw), '
                    "one row per certificate presented: (none logged): 1 tls-failed at 2025-03-20 11:00; "
                    f"{f.INTERNAL[:8]}: 2 rejected from 2025-03-20 10:14 to 2025-03-20 10:29, "
                    "1 tls-failed at 2025-03-20 10:44; "
                    f"{f.PUBLIC[:8]}: 2 delivered from 2025-03-19 10:00 to 2025-03-19 11:00.")
    assert describe_sessions_by_certificate(sessions.iloc[:0]).endswith("No SMTP send session to show.")


def test_issuer_description_lists_certificates_as_the_bars_and_marks_the_selected_one():
    text = describe_issuer_comparison(CERTS.assign(selected=CERTS["thumbprint"] == f.INTERNAL),
                                      at=pd.Timestamp("2025-03-20 09:14", tz="UTC"), tz="UTC")
    rows = text.split("by NotBefore: ", 1)[1].split("; ")
    assert [row[:8] for row in rows] == [f.SELF[:8], f.PUBLIC[:8], f.INTERNAL[:8]]   # the bars' order
    assert [row.split(", ")[1] for row in rows] == ["self-signed", "public", "internal"]
    assert rows[2].startswith(f"{f.INTERNAL[:8]} CN=mail.contoso.com by CN=Contoso Issuing CA 01, internal, "
                              "valid from 2025-03-14 09:02 to 2027-03-14 00:00, selected for outbound TLS.")
    assert text.count("selected") == 1
    assert text.endswith("Dotted line at the onset, 2025-03-20 09:14.")


def test_issuer_description_says_when_a_validity_is_unknown():
    certs = CERTS.copy()
    certs.loc[certs["thumbprint"] == f.PUBLIC, "not_after"] = pd.NaT
    text = describe_issuer_comparison(certs)
    assert f"{f.PUBLIC[:8]} CN=mail.contoso.com by CN=exlab Lab Public Server CA 01, public, validity unknown" in text
    assert "selected" not in text and "Dotted line" not in text


def test_descriptions_keep_evidence_text_as_it_is_for_the_template_to_escape():
    odd = f.certs(f.cert(f.INTERNAL, "internal", "2025-03-14", subject="CN=$x^2$ <b>mail</b>"))
    assert "CN=$x^2$ <b>mail</b> by" in describe_issuer_comparison(odd, title="Certificates covering <i>&</i>")
    sessions = _five_sessions().assign(connector="Out <script>alert(1)</script>")
    assert 'connector "Out <script>alert(1)</script>"' in describe_sessions_by_certificate(sessions)


def test_every_figure_has_a_description_taking_the_same_arguments():
    figures = {name for name in dir(plots) if name.startswith("plot_")}
    assert {"plot_failures", "plot_sessions_by_certificate", "plot_issuer_comparison"} <= figures
    for name in figures:
        described = getattr(plots, name.replace("plot_", "describe_", 1), None)
        assert described is not None, f"{name} has no describe_ twin for its alternative text"
        assert inspect.signature(described).parameters == inspect.signature(getattr(plots, name)).parameters
