"""Invocation retry policies: Restate's default (500 ms initial, x2, 60 s max, 70 attempts
including the first, then pause), overridable per service and per handler."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal

from partition.schema import Schema
from perdure_proto import protocol_pb2 as pb


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    initial_interval_ms: int = 500
    factor: float = 2.0
    max_interval_ms: int = 60_000
    max_attempts: int = 70
    on_max_attempts: Literal["pause", "kill"] = "pause"

    def delay_ms(self, failures: int) -> int:
        """Delay before the attempt that follows the `failures`-th failure (1-based)."""
        delay = self.initial_interval_ms * self.factor ** max(0, failures - 1)
        return int(min(delay, self.max_interval_ms))


def _override(policy: RetryPolicy, spec: pb.RetryPolicy) -> RetryPolicy:
    if spec.HasField("initial_interval_ms"):
        policy = replace(policy, initial_interval_ms=spec.initial_interval_ms)
    if spec.HasField("exponentiation_factor"):
        policy = replace(policy, factor=spec.exponentiation_factor)
    if spec.HasField("max_interval_ms"):
        policy = replace(policy, max_interval_ms=spec.max_interval_ms)
    if spec.HasField("max_attempts"):
        policy = replace(policy, max_attempts=max(1, spec.max_attempts))
    if spec.on_max_attempts == pb.KILL:
        policy = replace(policy, on_max_attempts="kill")
    elif spec.on_max_attempts == pb.PAUSE:
        policy = replace(policy, on_max_attempts="pause")
    return policy


def policy_for(schema: Schema, service: str, handler: str, default: RetryPolicy) -> RetryPolicy:
    found = schema.handler(service, handler)
    if found is None:
        return default
    row, spec = found
    policy = default
    if row.spec.options.HasField("retry_policy"):
        policy = _override(policy, row.spec.options.retry_policy)
    if spec.options.HasField("retry_policy"):
        policy = _override(policy, spec.options.retry_policy)
    return policy
