"""``exlab lab``: write the lab's synthetic cases (evidence plus truth.json).

    exlab lab list
    exlab lab generate CASE OUTDIR [--seed N] [--events N]
    exlab lab generate --all OUTDIR [--seed N] [--events N]

A case goes to ``OUTDIR/<case>/`` and the lab public root to ``OUTDIR/lab-public-root.pem``
(pass it to the analysis with ``--roots``). The same seed gives byte-identical files;
``--events`` sets the background records in each server's Application log (it streams:
millions are fine). ``data/samples`` is ``exlab lab generate --all data/samples``.
The exit code is 1 when an export could not be written (its writer is missing), else 0.

>>> parser = argparse.ArgumentParser(prog="exlab")
>>> add_parser(parser.add_subparsers(dest="command"))
>>> args = parser.parse_args(["lab", "generate", "contoso-kb2888788", "out", "--seed", "7"])
>>> args.targets, args.seed, args.events, args.all
(['contoso-kb2888788', 'out'], 7, None, False)
"""

from __future__ import annotations

import argparse
import sys



def add_parser(subparsers) -> None:
    """Register ``exlab lab`` (``list`` and ``generate``) on the CLI's sub-command parsers."""
    parser = subparsers.add_parser("lab", help="generate the lab's synthetic cases",
                                   description="Generate synthetic Exchange evidence with its ground truth.")
    commands = parser.add_subparsers(dest="lab_command", required=True, metavar="LAB_COMMAND")
    listing = commands.add_parser("list", help="list the lab cases and what each one shows")
    listing.set_defaults(func=run_list)
    generate = commands.add_parser("generate", help="write a case (or --all) into OUTDIR/<case>/")
    generate.add_argument("targets", nargs="+", metavar="CASE OUTDIR",
                          help="the case name and the output folder (with --all: only the output folder)")
    generate.add_argument("--all", action="store_true", help="write every case")
    generate.add_argument("--seed", type=int,
                          help="seed of the simulation and the PKI (default: data/samples' seed)")
    generate.add_argument("--events", type=_positive, default=None,
                          help="background records per server's Application log (default: the case's own)")
    generate.set_defaults(func=run_generate)


def _positive(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError("must be 0 or more")
    return value


def run_list(args: argparse.Namespace) -> int:
    """Print each case with its verdict, cause and servers.

    >>> run_list(argparse.Namespace())   # doctest: +ELLIPSIS
    contoso-kb2888788        confirmed  kb2888788                    EXCHANGE (pl-PL, Europe/Warsaw)
    ...
    0
    """
    from exlab.lab.cases import case, names

    for name in names():
        scenario = case(name)
        print(f"{name:24} {scenario.verdict:10} {scenario.cause or '-':28} "
              f"{', '.join(s.name for s in scenario.servers)} ({scenario.culture}, {scenario.tz})")
    return 0


def run_generate(args: argparse.Namespace) -> int:
    """Generate the case(s); print what was written and what no writer could produce yet.

    >>> run_generate(argparse.Namespace(all=True, targets=["a", "b"], seed=1, events=None))
    2
    """
    from tqdm.auto import tqdm

    from exlab.lab.cases import names
    from exlab.lab.generate import DEFAULT_SEED, generate_case

    if args.all:
        if len(args.targets) != 1:
            print("exlab lab generate --all takes only OUTDIR", file=sys.stderr)
            return 2
        wanted, outdir = list(names()), args.targets[0]
    else:
        if len(args.targets) != 2:
            print("exlab lab generate takes CASE OUTDIR (or --all OUTDIR)", file=sys.stderr)
            return 2
        wanted, outdir = [args.targets[0]], args.targets[1]
        if wanted[0] not in names():
            print(f"exlab: no lab case {wanted[0]!r}; known: {', '.join(names())}", file=sys.stderr)
            return 2
    incomplete = 0
    for name in tqdm(wanted, desc="cases", unit="case", disable=len(wanted) < 2, file=sys.stderr):
        generated = generate_case(name, outdir, seed=DEFAULT_SEED if args.seed is None else args.seed,
                                  events=args.events)
        print(f"{name}: {len(generated.files)} files in {generated.folder}")
        for missing in generated.missing:
            print(f"  not written: {missing}", file=sys.stderr)
        incomplete += bool(generated.missing)
    return 1 if incomplete else 0
