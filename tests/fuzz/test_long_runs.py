"""A long run in a value (a damaged or hostile export) is read in linear time.

Each of these once held a pattern that backtracks over such a run (``\\s*,\\s*``, ``.*?\\s*$``, or an
unbounded ``[^>]*`` from each of many starts): 140,000 spaces, or 100,000 unclosed tags, took
minutes. Each is read here under the fuzz harness's time limit.
"""

from __future__ import annotations

import pytest

from exlab.analysis.timeline import tracking_reply
from exlab.certs.anchors import microsoft_policy
from exlab.certs.names import name_key
from exlab.certs.selection import parse_tls_certificate_name
from exlab.certs.trust import _short
from tests.fuzz.harness import TIME_LIMIT, time_limit

RUN = " " * 140_000


@pytest.mark.parametrize("read, value, expected", [
    (name_key, f"CN=mail{RUN}x ,  O=Contoso", f"cn=mail{RUN}x,o=contoso"),
    (parse_tls_certificate_name, f"<I>CN=CA{RUN}x<S>CN=mail{RUN}y ", (f"CN=CA{RUN}x", f"CN=mail{RUN}y")),
    (lambda text: microsoft_policy(text).disallowed, f"# Disallowed Filetime:{RUN}x{RUN}y\n", None),
    (lambda text: microsoft_policy(text).disallowed.year, f"# Disallowed Filetime:{RUN}2023-02-01{RUN}\n", 2023),
    (_short, ValueError(f"validation failed: path{RUN}x (encountered processing <cert>)"), f"path{RUN}x"),
    (tracking_reply, "{LED=454 4.7.0" * 30_000, "{LED=454 4.7.0" * 30_000),    # no reply in it: as it is
], ids=["distinguished name", "TlsCertificateName", "root comment", "root comment with a date", "trust error",
        "tracking reply of unclosed {LED="])
def test_a_long_run_of_spaces_is_read_in_linear_time(read, value, expected):
    with time_limit(TIME_LIMIT):
        assert read(value) == expected


def test_an_event_export_of_unclosed_tags_is_filtered_in_linear_time(tmp_path):
    """Event 2004 asked of an XML export whose one event is 100,000 unclosed ``<Provider `` and
    ``<EventID `` tags: the filters' look at the text ends, and the event is counted as damaged."""
    import warnings

    from exlab.events import read_events

    path = tmp_path / "Application.xml"
    path.write_text('<Events><Event xmlns="http://schemas.microsoft.com/win/2004/08/events/event">'
                    + "<Provider <EventID " * 100_000 + "</Event></Events>", encoding="utf-8")
    with time_limit(TIME_LIMIT), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        frame = read_events(path, event_ids=[2004], providers="MSExchangeTransport")
    assert len(frame) == 0 and frame.attrs["parse_report"].files[0].records_skipped == 1
