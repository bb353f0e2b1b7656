"""Values an events column cannot hold are read as NA, the row kept, the loss counted (issue 13)."""

from __future__ import annotations

import warnings

from exlab.events.schema import events_frame
from exlab.parse_report import ParseReport


def test_values_past_their_columns_become_na_counted_and_warned_once():
    report = ParseReport()
    app = report.add_file("Application.xml", sha256="", format="event-xml")
    rows = [{"record_id": 2 ** 63, "level": 300, "task": 2 ** 31, "qualifiers": 2 ** 32, "time_created": 2 ** 64,
             "event_id": 2004, "source": "Application.xml"},
            {"record_id": 5, "record_number": 5, "level": 4, "event_id": 2004, "source": "Application.xml"}]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        frame = events_frame(rows, report)
    assert len(frame) == 2 and frame["event_id"].tolist() == [2004, 2004]
    assert frame.loc[0, ["record_id", "level", "task", "qualifiers"]].isna().all()
    assert frame["time_created"].isna().all() and frame.loc[1, "level"] == 4
    assert app.values_nulled == 5 and app.records_skipped == 0
    assert report.to_frame().loc[0, "values_nulled"] == 5
    assert [w.message.source for w in caught] == ["Application.xml"]
