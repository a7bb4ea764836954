"""What applying a record asks the leader to do. Data only: every replica computes the same
actions; only the leader carries them out (node.leader)."""

from __future__ import annotations

from dataclasses import dataclass, field

from perdure_proto import protocol_pb2 as pb
from perdure_proto import storage_pb2 as st


@dataclass(frozen=True, slots=True)
class Invoke:
    """Start (or restart) an attempt of this invocation on its deployment."""

    invocation_id: str
    # The status row just written, so the leader need not read it back (not part of equality).
    status: st.InvocationStatus | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class Ack:
    """Commands 1..up_to_index of the invocation are durable; tell attempt `attempt` (0: any)."""

    invocation_id: str
    up_to_index: int
    attempt: int = 0


@dataclass(frozen=True, slots=True)
class Ended:
    """The invocation no longer runs (completed, suspended or paused): drop any attempt state;
    with `abort`, stop a running attempt first (kill, pause)."""

    invocation_id: str
    abort: bool = False
    completed: bool = False  # it ended for good (not a suspension or a pause)


@dataclass(frozen=True, slots=True)
class Completion:
    """A journal entry of a running invocation completed: tell its running attempt."""

    invocation_id: str
    index: int
    result: pb.Result
    callee_invocation_id: str = ""


@dataclass(frozen=True, slots=True)
class Cancel:
    """Deliver a cancellation to the running attempt."""

    invocation_id: str


@dataclass(frozen=True, slots=True)
class RegisterTimer:
    wake_up_time_ms: int
    invocation_id: str
    index: int


@dataclass(frozen=True, slots=True)
class ReplyDone:
    """An invocation command succeeded: answer `code` (and the new id of a restart, or how
    many invocations a bulk command changed)."""

    request_id: int
    invocation_id: str
    code: int
    new_invocation_id: str = ""
    affected: int = 0


@dataclass(frozen=True, slots=True)
class ReplyCompleted:
    request_id: int
    invocation_id: str
    result: pb.Result
    content_type: str
    expires_at_ms: int  # 0 when the result was not served from a stored completion


@dataclass(frozen=True, slots=True)
class ReplyAccepted:
    request_id: int
    invocation_id: str
    previously: bool


@dataclass(frozen=True, slots=True)
class ReplyRejected:
    request_id: int
    invocation_id: str
    code: int
    message: str


@dataclass(frozen=True, slots=True)
class Paused:
    """An invocation's retries are exhausted and it paused: tell the operator (the leader's
    pause webhook, node/pause_webhook.py)."""

    invocation_id: str
    service: str
    handler: str
    key: str
    keyed: bool
    failure_code: int
    failure_message: str
    at_ms: int


@dataclass(frozen=True, slots=True)
class SchemaChanged:
    """Deployments or services changed: refresh what the ingress and invoker see."""


Reply = ReplyCompleted | ReplyAccepted | ReplyRejected | ReplyDone


@dataclass(frozen=True, slots=True)
class Shuffle:
    """The outbox holds messages for other partitions, up to `seq`: deliver them."""

    seq: int


@dataclass(frozen=True, slots=True)
class LeaderAnnounced:
    """A member announced its leadership; if it is us, start carrying out actions."""

    leader_id: str
    epoch: int
    leadership: int = 0  # its number: what its leader unit stamps on the records it proposes


Action = (
    Invoke
    | Ack
    | Ended
    | Completion
    | Cancel
    | RegisterTimer
    | ReplyDone
    | ReplyCompleted
    | ReplyAccepted
    | ReplyRejected
    | SchemaChanged
    | LeaderAnnounced
    | Paused
    | Shuffle
)
