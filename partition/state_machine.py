"""The partition state machine: applies log records to the store and returns actions as data.

Deterministic: no I/O besides the store transaction, no clock but the record's timestamp, no
randomness. Every replica applies every record; only the leader executes the actions.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from partition import actions as act
from partition import (
    on_announce_leader,
    on_attach,
    on_invocation_command,
    on_invoke,
    on_invoker_effect,
    on_pause,
    on_purge_expired,
    on_register_deployment,
    on_resolve_awakeable,
    on_timer_fired,
    tables,
)
from partition.context import Apply, Options
from partition.schema import Schema
from perdure_proto import records_pb2 as rec

log = logging.getLogger(__name__)

_DISPATCH: dict[str, Callable[[Apply, Any], None]] = {
    "invoke": on_invoke.apply,
    "invoker_effect": on_invoker_effect.apply,
    "attach": on_attach.apply,
    "register_deployment": on_register_deployment.apply,
    "pause_invocation": on_pause.apply,
    "announce_leader": on_announce_leader.apply,
    "timer_fired": on_timer_fired.apply,
    "resolve_awakeable": on_resolve_awakeable.apply,
    "invocation_command": on_invocation_command.apply,
    "purge_expired": on_purge_expired.apply,
}


class StateMachine:
    def __init__(self, reader: tables.ScanReader, options: Options | None = None) -> None:
        self.schema = Schema.load(reader)
        self.options = options or Options()

    def apply(self, txn: tables.Writer, record: bytes) -> list[act.Action]:
        envelope = rec.Envelope()
        try:
            envelope.ParseFromString(record)
        except Exception:  # a corrupt record must not stop the partition; every replica skips it
            log.error("skipping a log record that is not a valid Envelope (%d bytes)", len(record))
            return []
        kind = envelope.WhichOneof("command")
        handler = _DISPATCH.get(kind or "")
        if handler is None:
            log.error("skipping a log record with unknown command %r", kind)
            return []
        ctx = Apply(txn, envelope.timestamp_ms, self.schema, self.options)
        handler(ctx, getattr(envelope, kind or ""))
        return ctx.actions
