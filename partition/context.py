"""What every command handler gets: the transaction, the record's time, the schema, and the
list it appends its actions to."""

from __future__ import annotations

from dataclasses import dataclass, field

from partition import actions as act
from partition import tables
from partition.schema import Schema

DAY_MS = 24 * 3600 * 1000


@dataclass(frozen=True, slots=True)
class Options:
    default_idempotency_retention_ms: int = DAY_MS
    default_workflow_retention_ms: int = DAY_MS


@dataclass(slots=True)
class Apply:
    txn: tables.Writer
    now_ms: int
    schema: Schema
    options: Options
    actions: list[act.Action] = field(default_factory=list)
