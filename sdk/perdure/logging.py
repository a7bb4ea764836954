"""``getLogger``: a standard logger that drops records while the handler replays its journal."""

from __future__ import annotations

import logging

from perdure.extensions import current_context

__all__ = ["RestateLoggingFilter", "getLogger"]


class RestateLoggingFilter(logging.Filter):
    """Drops records emitted while the current invocation is replaying."""

    def filter(self, record: logging.LogRecord) -> bool:
        ctx = current_context()
        replaying = getattr(ctx, "is_replaying", None)
        return not (callable(replaying) and replaying())


def getLogger(name: str | None = None) -> logging.Logger:
    """``logging.getLogger(name)`` with a ``RestateLoggingFilter`` attached (once)."""
    logger = logging.getLogger(name)
    if not any(isinstance(f, RestateLoggingFilter) for f in logger.filters):
        logger.addFilter(RestateLoggingFilter())
    return logger
