"""Per-service / per-handler invocation retry policy, sent to the server at discovery."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Literal

__all__ = ["InvocationRetryPolicy"]


@dataclass
class InvocationRetryPolicy:
    """Unset fields fall back to the server default (500 ms, x2, 60 s, 70 attempts, pause).

    ``max_attempts`` includes the first attempt.
    """

    initial_interval: timedelta | None = None
    exponentiation_factor: float | None = None
    max_interval: timedelta | None = None
    max_attempts: int | None = None
    on_max_attempts: Literal["pause", "kill"] | None = None
