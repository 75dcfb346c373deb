"""`foveanet data`: build the data sets the project uses from what a machine already has."""
from __future__ import annotations

import argparse
import textwrap

EXAMPLES = textwrap.dedent("""\
    examples:
      apt-get update -o Acquire::Languages=en      # fetch the long descriptions first
      foveanet data debtags --out debtags.jsonl.gz
      foveanet data debtags --lists /path/to/apt/lists --out my.jsonl
    """)


def register(sub) -> None:
    p = sub.add_parser("data", help="build data sets (debtags text classification from apt lists)")
    dsub = p.add_subparsers(dest="data_command", metavar="DATASET")
    d = dsub.add_parser(
        "debtags", help="rebuild the debtags multi-label text set from this machine's apt lists",
        description="Write one JSON object a line {id, text, labels}: Debian packages with their "
                    "descriptions and debtags, read from apt's Packages and Translation-en lists.",
        epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    d.add_argument("--out", required=True, help="output file (.jsonl or .jsonl.gz)")
    d.add_argument("--lists", default="/var/lib/apt/lists", help="apt lists directory (default: %(default)s)")
    d.set_defaults(func=_debtags)
    p.set_defaults(func=lambda args: p.print_help() or 0)


def _debtags(args) -> int:
    from pathlib import Path

    from foveanet.cli.main import CLIError
    from foveanet.data.text.debtags import main

    if not Path(args.lists).is_dir():
        raise CLIError(f"{args.lists} is not a directory of apt lists (pass --lists DIR)")
    try:
        return main(args.out, args.lists)
    except (FileNotFoundError, ValueError) as e:
        raise CLIError(str(e)) from None
