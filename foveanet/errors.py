"""Errors a user can fix: missing or broken files, settings that cannot work, a run that
diverged.

Every such error derives from ``UserError``, so the ``foveanet`` command catches one
class and prints the text without a traceback; anything else is a bug and keeps its
traceback.  This module imports nothing, so the CLI can name these classes before it loads
any heavy layer.
"""
from __future__ import annotations

__all__ = ["UserError", "CLIError", "RunError", "TrainingDiverged", "EXIT_USER_ERROR", "EXIT_DIVERGED"]

# exit codes of the `foveanet` command: 2 as argparse uses for a bad option; a diverged run
# has its own code so that scripts can tell "fix the command" from "fix the recipe"
EXIT_USER_ERROR = 2
EXIT_DIVERGED = 3


class UserError(Exception):
    """An error the user can fix; the text says what was expected, what came, and what to do."""

    exit_code = EXIT_USER_ERROR


class CLIError(UserError):
    """A command-line mistake found after parsing (two options that clash, a missing file)."""


class RunError(UserError, ValueError):
    """A run directory that cannot be used as it is (missing or incomplete files, a config
    from another command); the text says what to do."""


class TrainingDiverged(UserError):
    """The loss or a gradient became inf or NaN: the run stops at that step.

    ``where`` holds the numbers the message states (epoch, step, value, learning rate), so a
    caller can record them in the run's metrics.
    """

    exit_code = EXIT_DIVERGED

    def __init__(self, message: str, where: dict | None = None):
        super().__init__(message)
        self.where = dict(where or {})
