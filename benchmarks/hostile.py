"""How exlab's reading time grows on hostile input, against a linear baseline in the same process.

For each hostile shape (one huge attribute, one huge element, many tiny elements, deep
nesting, one endless line, text without any event, a Format-List value wrapped over countless
lines, PEM BEGIN lines without an END) built by :mod:`exlab.lab.oversized` at
1x, 10x and 100x its base size, prints exlab's time and its ratio to the 1x time, beside
the same for a baseline over the same bytes: ``defusedxml`` parsing the whole document in
one feed (XML), a regex scan (text without events), ``pyarrow.csv`` (logs), the lines
stripped and joined (Format-List), ``cryptography``'s PEM bundle loader (PEM). Linear reading
gives ratios near 10 and 100; quadratic reading near 100 and 10,000. For CliXml the
column ``before`` is ``iterparse`` in 16 KiB blocks, how exlab fed the parser before
:class:`exlab.xml_stream.MarkupAlignedReader` (skipped once a run takes over 20 s).

    .venv/bin/python benchmarks/hostile.py            # all formats
    .venv/bin/python benchmarks/hostile.py clixml     # one format: clixml, event-xml, log, pem, fl
"""

from __future__ import annotations

import argparse
import io
import re
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import pyarrow.csv as pacsv
from cryptography import x509
from defusedxml.ElementTree import fromstring, iterparse

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from exlab import read_certs, read_events  # noqa: E402
from exlab.certs.exchange_list import property_blocks  # noqa: E402
from exlab.clixml import iter_items  # noqa: E402
from exlab.errors import ExlabError  # noqa: E402
from exlab.lab import oversized  # noqa: E402
from exlab.parse_report import ParseReport  # noqa: E402
from exlab.transport import read_connectors  # noqa: E402
from exlab.transport.protocol_log import read_protocol_log  # noqa: E402

SCALES = (1, 10, 100)
SLOW = 20.0   # seconds: a "before" run past this is not repeated at the next scale


def clixml_exlab(data: bytes) -> None:
    for _ in iter_items(io.BytesIO(data), "hostile.xml"):
        pass


def clixml_before(data: bytes) -> None:
    for _ in iterparse(io.BytesIO(data), events=("start", "end")):
        pass


def event_xml_exlab(data: bytes) -> None:
    read_events(io.BytesIO(data))


def log_exlab(data: bytes) -> None:
    read_protocol_log(io.BytesIO(data))


def log_baseline(data: bytes) -> None:
    pacsv.read_csv(io.BytesIO(data), read_options=pacsv.ReadOptions(skip_rows=5, autogenerate_column_names=True,
                                                                    block_size=len(data) + 1),
                   parse_options=pacsv.ParseOptions(invalid_row_handler=lambda row: "skip"))


def connectors_exlab(data: bytes) -> None:
    read_connectors(io.BytesIO(data))


def certificate_list_exlab(data: bytes) -> None:
    report = ParseReport().add_file("fl.txt", sha256="", format="exchange-list")
    for _ in property_blocks(data.decode("utf-16"), report):
        pass


def lines_joined(data: bytes) -> None:
    "".join(line.strip() for line in data.decode("utf-16").splitlines())


def pem_exlab(data: bytes) -> None:
    read_certs(io.BytesIO(data))


def pem_baseline(data: bytes) -> None:
    try:
        x509.load_pem_x509_certificates(data)
    except ValueError:
        pass


def events_scan(data: bytes) -> None:
    sum(1 for _ in re.finditer(rb"<Event[\s>/]", data))


def whole_document(data: bytes) -> None:
    fromstring(data)


def rooted_events(data: bytes) -> None:
    fromstring(b"<Events>" + data + b"</Events>")


# format, shape, base size, builder, exlab, baseline (name, function), before (or None)
CASES = [
    ("clixml", "attribute", 80_000, oversized.clixml, clixml_exlab, ("defusedxml, one feed", whole_document),
     clixml_before),
    ("clixml", "text", 80_000, oversized.clixml, clixml_exlab, ("defusedxml, one feed", whole_document),
     clixml_before),
    ("clixml", "tiny", 5_000, oversized.clixml, clixml_exlab, ("defusedxml, one feed", whole_document),
     clixml_before),
    ("clixml", "deep", 1_000, oversized.clixml, clixml_exlab, ("defusedxml, one feed", whole_document),
     clixml_before),
    ("event-xml", "attribute", 100_000, oversized.event_xml, event_xml_exlab, ("defusedxml, one feed", rooted_events),
     None),
    ("event-xml", "event", 100_000, oversized.event_xml, event_xml_exlab, ("defusedxml, one feed", rooted_events),
     None),
    ("event-xml", "tiny", 1_000, oversized.event_xml, event_xml_exlab, ("defusedxml, one feed", rooted_events),
     None),
    ("event-xml", "junk", 200_000, oversized.event_xml, event_xml_exlab, ("regex scan", events_scan), None),
    ("log", "line", 200_000, oversized.protocol_log, log_exlab, ("pyarrow.csv", log_baseline), None),
    ("log", "tiny", 5_000, oversized.protocol_log, log_exlab, ("pyarrow.csv", log_baseline), None),
    ("pem", "unclosed", 2_000, oversized.pem, pem_exlab, ("cryptography load_pem_x509_certificates", pem_baseline),
     None),
    ("pem", "many", 20, oversized.pem, pem_exlab, ("cryptography load_pem_x509_certificates", pem_baseline), None),
    ("fl", "connector", 2_000, oversized.format_list, connectors_exlab, ("lines stripped, joined", lines_joined),
     None),
    ("fl", "certificate", 2_000, oversized.format_list, certificate_list_exlab,
     ("lines stripped, joined", lines_joined), None),
]


def timed(function: Callable[[bytes], None], data: bytes) -> float:
    """Seconds of the best of a few runs (one when a run takes over half a second)."""
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        try:
            function(data)
        except ExlabError:
            pass   # a cap reached is an outcome too: its time counts
        best = min(best, time.perf_counter() - start)
        if best > 0.5:
            break
    return best


def cell(seconds: float | None, base: float | None) -> str:
    if seconds is None:
        return f"{'skipped':>19}"
    return f"{seconds:9.3f}s {seconds / base if base else 0:7.1f}x"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("formats", nargs="*", help="clixml, event-xml, log, pem, fl (default: all)")
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    print(f"{'format':<10} {'shape':<10} {'scale':>5} {'bytes':>11} {'exlab':>19} {'baseline':>19} "
          f"{'before':>19}  baseline")
    for fmt, shape, base_size, build, exlab_read, (baseline_name, baseline), before in CASES:
        if args.formats and fmt not in args.formats:
            continue
        firsts: dict[str, float] = {}
        before_time: float | None = 0.0
        for scale in SCALES:
            data = build(shape, base_size * scale)
            times = {"exlab": timed(exlab_read, data), "baseline": timed(baseline, data)}
            if before is not None and before_time is not None and before_time < SLOW:
                before_time = times["before"] = timed(before, data)
            else:
                before_time = None
            for key, seconds in times.items():
                firsts.setdefault(key, seconds)
            print(f"{fmt:<10} {shape:<10} {scale:>4}x {len(data):>11,} {cell(times['exlab'], firsts['exlab'])} "
                  f"{cell(times['baseline'], firsts['baseline'])} "
                  f"{cell(times.get('before'), firsts.get('before')) if before else f'{chr(8212):>19}'}  "
                  f"{baseline_name}", flush=True)


if __name__ == "__main__":
    main()
