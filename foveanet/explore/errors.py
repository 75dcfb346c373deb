"""The explorer's error: a user mistake answered as a 4xx JSON ``{"error": message}``."""
from __future__ import annotations

from foveanet.errors import UserError

__all__ = ["ExploreError", "not_found", "bad_request"]


class ExploreError(UserError):
    """A request the explorer cannot answer; ``status`` is the HTTP status (4xx)."""

    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.status = status


def not_found(message: str) -> ExploreError:
    return ExploreError(message, 404)


def bad_request(message: str) -> ExploreError:
    return ExploreError(message, 400)
