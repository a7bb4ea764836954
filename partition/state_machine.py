"""The partition state machine: applies log records to the store and returns actions as data.

Deterministic: no I/O besides the store transaction, no clock but the record's timestamp, no
randomness. Every replica applies every record; only the leader executes the actions.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any

from partition import actions as act
from partition import (
    delivery,
    on_announce_leader,
    on_attach,
    on_bulk_command,
    on_invocation_command,
    on_invoke,
    on_invoker_effect,
    on_modify_service,
    on_pause,
    on_prefer_leader,
    on_purge_expired,
    on_register_deployment,
    on_remove_deployment,
    on_resolve_awakeable,
    on_safe_trim,
    on_timer_fired,
    state_mutation,
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
    "pause_notified": on_pause.notified,
    "announce_leader": on_announce_leader.apply,
    "timer_fired": on_timer_fired.apply,
    "resolve_awakeable": on_resolve_awakeable.apply,
    "invocation_command": on_invocation_command.apply,
    "purge_expired": on_purge_expired.apply,
    "deliver": delivery.on_deliver,
    "truncate_outbox": delivery.on_truncate_outbox,
    "safe_trim": on_safe_trim.apply,
    "prefer_leader": on_prefer_leader.apply,
    "remove_deployment": on_remove_deployment.apply,
    "modify_state": state_mutation.apply,
    "bulk_invocation_command": on_bulk_command.apply,
    "modify_service": on_modify_service.apply,
}


class StateMachine:
    def __init__(self, reader: tables.ScanReader, options: Options | None = None) -> None:
        self.schema = Schema.load(reader)
        self.options = options or Options()
        # A schema staged by a record of the write batch not yet committed (that batch only).
        self._staged: tuple[tables.Writer, Schema] | None = None

    def apply(self, txn: tables.Writer, record: bytes) -> list[act.Action]:
        envelope = rec.Envelope()
        try:
            envelope.ParseFromString(record)
        except Exception:  # a corrupt record must not stop the partition; every replica skips it
            log.error("skipping a log record that is not a valid Envelope (%d bytes)", len(record))
            return []
        kind = envelope.WhichOneof("command")
        if envelope.leadership and envelope.leadership != tables.leadership(txn):
            return []  # from a leadership that has ended: its successor redoes what matters
        handler = _DISPATCH.get(kind or "")
        if handler is None:
            log.error("skipping a log record with unknown command %r", kind)
            return []
        staged = self._staged
        schema = staged[1] if staged is not None and staged[0] is txn else self.schema
        ctx = Apply(txn, envelope.timestamp_ms, schema, self.options)
        ctx.leadership = envelope.leadership
        handler(ctx, getattr(envelope, kind or ""))
        delivery.apply_local(ctx)
        if ctx.schema is not schema:
            self._staged = (txn, ctx.schema)
            txn.after_commit(functools.partial(self._adopt, ctx.schema))
        return ctx.actions

    def _adopt(self, schema: Schema) -> None:
        self.schema.adopt(schema)
        self._staged = None
