"""Preview features of restate-sdk; accepted for source compatibility."""

from __future__ import annotations

from typing import TypeVar

__all__ = ["explicit_recovery"]

T = TypeVar("T")


def explicit_recovery(target: T) -> T:
    """Mark a service or handler for explicit recovery (a no-op marker on Perdure)."""
    setattr(target, "__perdure_explicit_recovery__", True)  # noqa: B010
    return target
