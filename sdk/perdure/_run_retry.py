"""Local retry schedule of a failing ``ctx.run`` action (pure arithmetic, no sleeping)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from perdure._context_types import RunOptions

__all__ = ["RunRetryPolicy"]

DEFAULT_INITIAL_INTERVAL = 0.05
DEFAULT_FACTOR = 2.0
DEFAULT_MAX_INTERVAL = 10.0


def _seconds(delta: timedelta | None) -> float | None:
    return None if delta is None else delta.total_seconds()


@dataclass(frozen=True, slots=True)
class RunRetryPolicy:
    """Exponential backoff bounded by attempts (the first try included) and/or total duration."""

    initial_interval: float = DEFAULT_INITIAL_INTERVAL
    factor: float = DEFAULT_FACTOR
    max_interval: float = DEFAULT_MAX_INTERVAL
    max_attempts: int | None = None
    max_duration: float | None = None

    @staticmethod
    def from_options(options: RunOptions[object]) -> RunRetryPolicy | None:
        """The local policy, or ``None`` when no retry field is set (the attempt fails instead)."""
        max_duration = options.max_duration or options.max_retry_duration
        fields = (
            options.max_attempts,
            max_duration,
            options.initial_retry_interval,
            options.max_retry_interval,
            options.retry_interval_factor,
        )
        if all(f is None for f in fields):
            return None
        return RunRetryPolicy(
            initial_interval=_seconds(options.initial_retry_interval) or DEFAULT_INITIAL_INTERVAL,
            factor=options.retry_interval_factor or DEFAULT_FACTOR,
            max_interval=_seconds(options.max_retry_interval) or DEFAULT_MAX_INTERVAL,
            max_attempts=options.max_attempts,
            max_duration=_seconds(max_duration),
        )

    def next_delay(
        self, attempts_done: int, elapsed: float, retry_after: float | None = None
    ) -> float | None:
        """Seconds to wait before try ``attempts_done + 1``, or ``None`` when exhausted."""
        if self.max_attempts is not None and attempts_done >= self.max_attempts:
            return None
        delay = self.initial_interval * (self.factor ** (attempts_done - 1))
        delay = min(delay, self.max_interval)
        if retry_after is not None:
            delay = retry_after
        if self.max_duration is not None and elapsed + delay > self.max_duration:
            return None
        return delay
