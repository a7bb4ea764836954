"""Replace one key's state from outside (the admin API's POST /services/{name}/state).

A mutation waits for the key like an exclusive invocation: it applies at once when no exclusive
invocation holds the key and none waits, otherwise it is queued in the key's inbox and applied
when its turn comes (partition/lifecycle.py `release_key`), so a running handler never sees its
state change under it. When it applies, a version it carries must equal the state's content
hash (partition/state_version.py) or it is dropped, as Restate drops it; then every entry not
in the new state is deleted and the new state is written.
"""

from __future__ import annotations

import logging

from partition import tables
from partition.context import Apply
from partition.state_version import version
from perdure_proto import records_pb2 as rec

log = logging.getLogger(__name__)


def apply(ctx: Apply, cmd: rec.ModifyState) -> None:
    """The ModifyState record: apply now, or queue behind the key's holder and inbox."""
    lock = tables.get_lock(ctx.txn, cmd.service, cmd.key)
    if lock.invocation_id or lock.inbox_head != lock.inbox_tail:
        tables.push_inbox_mutation(ctx.txn, cmd.service, cmd.key, lock, cmd)
        tables.put_lock(ctx.txn, cmd.service, cmd.key, lock)
        return
    mutate(ctx, cmd)


def mutate(ctx: Apply, cmd: rec.ModifyState) -> None:
    current = tables.state_entries(ctx.txn, cmd.service, cmd.key)
    if cmd.check_version:
        now = version((e.key.encode(), e.value) for e in current)
        if now != cmd.version:
            log.info(
                "state of %s/%s not changed: its version is %s, the edit was made from %s",
                cmd.service,
                cmd.key,
                now,
                cmd.version,
            )
            return
    keep = {e.key for e in cmd.new_state}
    for entry in current:
        if entry.key not in keep:
            tables.clear_state(ctx.txn, cmd.service, cmd.key, entry.key)
    for entry in cmd.new_state:
        tables.set_state(ctx.txn, cmd.service, cmd.key, entry.key, entry.value)
