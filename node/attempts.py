"""What a leader's invoker knows about an invocation's attempts, as seen from outside (for
`sys_invocation_state`): a copy made on the event loop, safe to read from any thread."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class AttemptInfo:
    invocation_id: str
    in_flight: bool  # an attempt runs on a deployment now
    attempts: int  # attempts started by this leadership (failed ones, plus the running one)
    deployment_id: str  # of the latest attempt ("" before the first)
    last_start_ms: int  # wall time the latest attempt started (0: none yet)
    next_retry_ms: int  # wall time the next attempt is due (0: none scheduled)
    last_failure_code: int  # of the latest failed attempt (0: none failed)
    last_failure: str  # its message
