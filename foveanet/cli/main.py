"""Entry point of the `foveanet` command.

Each subcommand family lives in its own module exposing ``register(subparsers)``, which adds
its parser(s) and sets ``func`` (called with the parsed args, returning an exit code).
Heavy imports happen inside ``func`` so that ``foveanet --help`` stays instant.
"""
from __future__ import annotations

import argparse
import importlib
import sys

# the families, in the order `foveanet --help` lists them
FAMILIES = ("train", "summary", "filter", "show", "baseline", "text", "segment", "data")


# raised by foveanet.data (and train.run) for files a user must fetch or repair; matched by name so that
# `foveanet --help` need not import the data layer
_USER_DATA_ERRORS = {"DatasetNotFoundError", "ChecksumError", "IDXError", "RunError"}


def help_formatter(prog):
    """Keeps the examples in each command's epilog as written (line breaks and all)."""
    return argparse.RawDescriptionHelpFormatter(prog, max_help_position=30)


class CLIError(Exception):
    """An error the user can fix: printed without a traceback, exit code 2."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="foveanet",
        description="foveanet: convolutional neural networks on NumPy, from the foundations.",
        epilog="Run `foveanet COMMAND --help` for the options and examples of each command.",
    )
    from foveanet import __version__

    parser.add_argument("--version", action="version", version=f"foveanet {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for family in FAMILIES:
        importlib.import_module(f"foveanet.cli.{family}").register(sub)
    return parser


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 0
    try:
        return int(args.func(args) or 0)
    except CLIError as e:
        print(f"foveanet {args.command}: error: {e}", file=sys.stderr)
        return 2
    except Exception as e:  # data that is missing or broken is the user's to fix: no traceback
        if type(e).__name__ not in _USER_DATA_ERRORS:
            raise
        print(f"foveanet {args.command}: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("\ninterrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    # run through the package module, so that CLIError is the class the families raise
    from foveanet.cli.main import main as _main

    sys.exit(_main())
