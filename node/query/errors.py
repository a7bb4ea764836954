"""The errors of the query service (light: the admin API imports them without DataFusion)."""

from __future__ import annotations


class QueryError(Exception):
    """The query cannot be answered; `status` is the HTTP status to answer with."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message

    def __reduce__(self) -> tuple[type[QueryError], tuple[int, str]]:
        return QueryError, (self.status, self.message)  # crosses to and from the query worker


class Cancelled(Exception):
    """The query was given up (it timed out) while a thread worked on it."""
