"""``exlab fleet``: the evidence of many servers in one Parquet store, and SQL over it.

``exlab fleet ingest FOLDER_OR_ZIP... -o STORE [--workers N | --scheduler ADDRESS]`` reads
every evidence file into the store (``exlab.fleet.ingest``): in this process by default,
in a local cluster of N processes, or on the Dask cluster at ADDRESS. A second run adds
only what is new. ``exlab fleet query STORE "SQL" [-o out.csv|.parquet|.jsonl]`` prints the
result, or writes it like every ``-o`` of exlab (CSV cells neutralised). ``investigate``
and ``report`` take a store as they take a folder.

>>> parser = argparse.ArgumentParser(); sub = parser.add_subparsers()
>>> add_parser(sub)
>>> args = parser.parse_args(["fleet", "ingest", "EX01", "EX02.zip", "-o", "store", "--workers", "2"])
>>> args.sources, args.output, args.workers
(['EX01', 'EX02.zip'], 'store', 2)
"""

from __future__ import annotations

import argparse
import sys

from exlab.cli import add_link_option
from exlab.cultures import DATE_FORMATS
from exlab.visible import visible


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register ``fleet ingest`` and ``fleet query``."""
    parser = subparsers.add_parser(
        "fleet", help="many servers: ingest evidence into a Parquet store, query it with SQL",
        description="Keep the evidence of many servers and days in one Parquet store (partitioned by server "
                    "and day), ingested here or on a Dask cluster, and query it with DuckDB.")
    commands = parser.add_subparsers(dest="fleet_command", required=True, metavar="ACTION")
    ingest = commands.add_parser("ingest", help="read evidence folders or zips into the store",
                                 description="Read every evidence file of each FOLDER_OR_ZIP into the store STORE "
                                             "(made when absent). Evidence already in it is not read again.")
    ingest.add_argument("sources", nargs="+", metavar="FOLDER_OR_ZIP", help="evidence folders or zips (one per server "
                        "or one per site)")
    ingest.add_argument("-o", "--output", required=True, metavar="STORE", help="the store's folder")
    where = ingest.add_mutually_exclusive_group()
    where.add_argument("--workers", type=int, metavar="N", help="read in a local Dask cluster of N processes")
    where.add_argument("--scheduler", metavar="ADDRESS", help="read on the Dask cluster of this scheduler "
                       "(tcp://host:8786); its workers must see the evidence and the store at the same paths")
    ingest.add_argument("--tz", help="the servers' time zone (IANA name), for exports with local times")
    ingest.add_argument("--server-tz", action="append", default=[], metavar="SERVER=ZONE",
                        help="a server whose exports were written in another zone than --tz, e.g. "
                             "EX02=America/New_York; repeat for each")
    ingest.add_argument("--culture", choices=tuple(DATE_FORMATS), metavar="CULTURE",
                        help="the servers' culture (e.g. en-AU), for exports whose dates do not tell day from month")
    add_link_option(ingest)
    ingest.set_defaults(func=run_ingest)
    query = commands.add_parser("query", help="run one SQL query over the store",
                                description="Run one DuckDB SQL query over the store; its frames are views: "
                                            "events, certs, sessions, tracking, connectors, receive_connectors, "
                                            "servers, failures, and inputs (every evidence file, its SHA-256 "
                                            "and counts).")
    query.add_argument("store", help="the store's folder")
    query.add_argument("sql", help="one query, e.g. \"SELECT server, count(*) FROM failures GROUP BY server\"")
    query.add_argument("-o", "--output", help="write the result to this .csv, .parquet or .jsonl file")
    query.set_defaults(func=run_query)


def run_ingest(args: argparse.Namespace) -> int:
    """Ingest, then say what was added, skipped and not read, and what the store holds."""
    from exlab.fleet.ingestion import connect, ingest, local_client
    from exlab.settings import server_zones

    server_tz = server_zones(args.server_tz)

    client = connect(args.scheduler) if args.scheduler else local_client(args.workers) if args.workers else None
    try:
        if client is not None and client.dashboard_link:
            print(f"exlab: Dask dashboard at {visible(client.dashboard_link)}", file=sys.stderr)
        result = ingest(args.sources, args.output, client=client, tz=args.tz, server_tz=server_tz,
                        culture=args.culture, follow_links=args.follow_links, progress=True)
    finally:
        if client is not None:
            cluster = client.cluster if args.workers else None
            client.close()
            if cluster is not None:
                cluster.close()
    rows = ", ".join(f"{count:,} {kind}" for kind, count in sorted(result.rows.items()))
    print(f"{result.added} batch(es) added ({'rows stored: ' + rows if rows else 'no rows'}), "
          f"{result.skipped} already in the store, "
          f"{result.replaced} replaced by newer evidence")
    print(f"the store holds {store_summary(result.stored, result.distinct)}")
    for row in result.unread:
        print(f"not read: {visible(row['file'])}: {visible(row['reason'])}")
    return 0


def store_summary(stored: dict[str, int], distinct: dict[str, int]) -> str:
    """What a store holds per frame, in words: the rows its case answers with, and the rows
    stored where copies of events exported more than once make them more.

    >>> store_summary({"events": 1200, "sessions": 3}, {"events": 300, "sessions": 3})
    '300 events (1,200 rows stored: events exported more than once count once), 3 sessions'
    >>> store_summary({}, {})
    'no rows'
    """
    return ", ".join(f"{distinct[kind]:,} {kind}" + (f" ({count:,} rows stored: events exported more than once count once)"
                                                  if count != distinct[kind] else "")
                     for kind, count in stored.items()) or "no rows"


def run_query(args: argparse.Namespace) -> int:
    """Run the query; print the table, or write it with ``-o``."""
    import pandas as pd

    from exlab.commands.export import export_target, write_export
    from exlab.fleet.sql import query

    output = export_target(args.output, [args.store])
    table = query(args.store, args.sql)
    if output is not None:
        write_export(table, output)
        print(f"Wrote {len(table):,} row(s) to {visible(output)}")
        return 0
    with pd.option_context("display.max_rows", 200, "display.max_columns", 50, "display.width", 200):
        shown = table.map(lambda value: visible(value) if isinstance(value, str) else value)
        shown.columns = [visible(name) for name in table.columns]
        print(shown.to_string(index=False))
    return 0
