"""Always-on invariant checks for the log package (unlike `assert`, they survive `python -O`)."""

from __future__ import annotations


class BrokenInvariant(RuntimeError):
    """A bug in the log package: an internal guarantee did not hold. Not retryable; report it."""


def require(condition: bool, message: str) -> None:
    """Raise `BrokenInvariant(message)` unless `condition` holds."""
    if not condition:
        raise BrokenInvariant(message)
