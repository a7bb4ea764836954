"""What every command handler gets: the transaction, the record's time, the schema, and the
list it appends its actions to."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from partition import actions as act
from partition import tables
from partition.routing import Partitioning
from partition.schema import Schema
from perdure_proto import records_pb2 as rec

DAY_MS = 24 * 3600 * 1000


@dataclass(frozen=True, slots=True)
class Options:
    default_idempotency_retention_ms: int = DAY_MS
    default_workflow_retention_ms: int = DAY_MS
    group: int = 0  # the Raft group (partition process) this state machine runs
    partitioning: Partitioning = field(default_factory=Partitioning)


@dataclass(slots=True)
class Apply:
    txn: tables.Writer
    now_ms: int
    schema: Schema
    options: Options
    actions: list[act.Action] = field(default_factory=list)
    leadership: int = 0  # the leadership that proposed the record (0: not a leader unit)
    # Messages to invocations of this partition, applied when the record's handler returns
    # (partition.messages): in the same write, in the order they were sent.
    local: deque[rec.PartitionMessage] = field(default_factory=deque)
