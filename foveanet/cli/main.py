"""Entry point of the `foveanet` command.

Each subcommand family lives in its own module exposing ``register(subparsers)``, which adds
its parser(s) and sets ``func`` (called with the parsed args, returning an exit code).
Heavy imports happen inside ``func`` so that ``foveanet --help`` stays instant, and so that
``main`` can tune the process (``backend.cpu.tune_process``) before NumPy loads.
"""
from __future__ import annotations

import argparse
import importlib
import sys

from foveanet.errors import CLIError, UserError

__all__ = ["CLIError", "build_parser", "main"]

# the families, in the order `foveanet --help` lists them
FAMILIES = ("train", "summary", "filter", "show", "baseline", "text", "segment", "data", "explore",
            "faces", "medical", "ocr")


def help_formatter(prog):
    """Keeps the examples in each command's epilog as written (line breaks and all)."""
    return argparse.RawDescriptionHelpFormatter(prog, max_help_position=30)


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
    # before anything loads NumPy: OpenBLAS reads its settings once, when it is loaded
    from foveanet.backend.cpu import tune_process

    tune_process()
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 0
    try:
        return int(args.func(args) or 0)
    except UserError as e:  # the user's to fix: the message, no traceback
        print(f"foveanet {args.command}: error: {e}", file=sys.stderr)
        _stop_other_ranks(e.exit_code)
        return e.exit_code
    except KeyboardInterrupt:
        print("\ninterrupted", file=sys.stderr)
        return 130


def _stop_other_ranks(exit_code: int) -> None:
    # under mpirun the other ranks may be waiting for this one in a collective: end the job
    group = sys.modules.get("foveanet.distributed.process_group")
    if group is not None:
        group.abort(exit_code)


if __name__ == "__main__":
    sys.exit(main())
