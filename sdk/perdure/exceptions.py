"""Errors a handler raises or sees, and the SDK's internal control-flow signals.

`TerminalError` ends an invocation with a failure; every other exception is transient and the
attempt is retried by the server. Internal signals (suspension, a stopped attempt) derive from
`BaseException` so that a user's ``except Exception`` cannot swallow them.
"""

from __future__ import annotations

from datetime import timedelta

__all__ = [
    "AttemptStopped",
    "RetryableError",
    "SdkInternalBaseException",
    "SdkInternalException",
    "SuspendedException",
    "TerminalError",
    "is_internal_exception",
]


class TerminalError(Exception):
    """Ends the invocation with a failure; not retried.

    Callers of the failed invocation see a ``TerminalError`` with the same ``status_code``,
    ``message`` and ``metadata``.
    """

    def __init__(
        self, message: str, status_code: int = 500, metadata: dict[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status_code = status_code
        self.metadata = metadata


class RetryableError(Exception):
    """Fails the current attempt (or ``ctx.run`` try) and asks for a retry after ``retry_after``."""

    def __init__(
        self, message: str, status_code: int = 500, retry_after: timedelta | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status_code = status_code
        self.retry_after = retry_after


class SdkInternalBaseException(BaseException):
    """Base of the SDK's internal signals. Never catch it in handler code."""


class SuspendedException(SdkInternalBaseException):
    """The attempt suspended: the handler waits on something that is not completed yet."""

    def __init__(self, *args: object) -> None:
        super().__init__("Invocation got suspended, Perdure will resume it later", *args)


class SdkInternalException(SdkInternalBaseException):
    """The SDK hit an internal error (protocol violation, journal mismatch, ...)."""


class AttemptStopped(SdkInternalBaseException):
    """The attempt was closed (journal mismatch, abort, failure): unwinds the handler."""


def is_internal_exception(e: BaseException) -> bool:
    """True when ``e`` is an SDK control-flow signal that must be re-raised, not handled."""
    return isinstance(e, SdkInternalBaseException)


def find_terminal_error(e: BaseException) -> TerminalError | None:
    """The first ``TerminalError`` in ``e``'s ``__cause__`` chain (``e`` included), if any."""
    seen: set[int] = set()
    current: BaseException | None = e
    while current is not None and id(current) not in seen:
        if isinstance(current, TerminalError):
            return current
        seen.add(id(current))
        current = current.__cause__
    return None
