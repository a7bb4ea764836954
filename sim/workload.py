"""The simulated ingress: requests at random times, each an `Invoke` record appended to the log of
the group that owns the invocation, entering at a random node that forwards it to the leader it
reaches (the ingress-level acknowledgement is that append being durable; the checks find every
acknowledged request in the logs).

Requests with an idempotency key are retried with the same id when the append fails (a retry may
find the first append committed after all: the partition answers it as a repeat); the others are
tried once (a failed append of theirs may still have committed: then it is acknowledged, and the
checks count it). Some requests cancel a chain started earlier.
"""

from __future__ import annotations

import asyncio
import random

from log.api import Error as LogError
from partition import ids
from partition.routing import Partitioning
from perdure_proto import records_pb2 as rec
from sim import services
from sim.cluster import Cluster

RETRIES = 4


class Workload:
    def __init__(self, cluster: Cluster, rng: random.Random) -> None:
        p = cluster.setup.partitioning
        self._cluster = cluster
        self._partitioning: Partitioning = p
        self._rng = rng
        groups = p.groups
        self.counter_keys = [k for g in range(groups) for k in services.keys_on(p, g, 2, "c")]
        self.chain_keys = [
            services.keys_on(p, g % groups, 2, name.lower())
            for g, name in enumerate(services.CHAIN)
        ]
        self._chains: list[str] = []
        self._next = 0

    async def run(self, operations: int, over_s: float) -> None:
        tasks = self._cluster.setup.tasks
        for _ in range(operations):
            await asyncio.sleep(self._rng.uniform(0, 2 * over_s / operations))
            envelope, tries = self._request()
            g = self._partitioning.group_of_invocation(_target(envelope))
            tasks.create_task(self._submit(g, envelope, tries), name="request")

    def _request(self) -> tuple[rec.Envelope, int]:
        self._next += 1
        n = self._next
        roll = self._rng.random()
        if roll < 0.1 and self._chains:
            cancel = rec.InvocationCommand(invocation_id=self._rng.choice(self._chains))
            cancel.command = rec.CANCEL
            return rec.Envelope(invocation_command=cancel), 1
        idempotent = self._rng.random() < 0.5
        if roll < 0.5:
            key = self._rng.choice(self.counter_keys)
            invoke = self._invoke(
                "Counter", "add", key, str(self._rng.randint(1, 9)), n, idempotent
            )
        elif roll < 0.7:
            kb, kc = (self._rng.choice(keys) for keys in self.chain_keys[1:])
            ka = self._rng.choice(self.chain_keys[0])
            arg = f"x{n}|{kb}|{kc}"
            invoke = self._invoke("ChainA", "run", ka, arg, n, idempotent)
            self._chains.append(invoke.invocation_id)
        elif roll < 0.85:
            targets = [
                (self._rng.choice(self.counter_keys), self._rng.choice((0, 0, 500)))
                for _ in range(self._rng.randint(1, 4))
            ]
            arg = services.fanout_arg(targets).decode()
            invoke = self._invoke("Sender", "fanout", "", arg, n, idempotent)
        else:
            invoke = self._invoke("Stepper", "steps", "", "", n, idempotent)
        return rec.Envelope(invoke=invoke), RETRIES if idempotent else 1

    def _invoke(
        self, service: str, handler: str, key: str, arg: str, n: int, idempotent: bool
    ) -> rec.Invoke:
        idempotency_key = f"req-{n}" if idempotent else ""
        if idempotent:
            invocation_id = ids.deterministic_invocation_id(
                service, key or None, handler, idempotency_key
            )
        else:
            pkey = ids.partition_key(key) if key else self._keyless_partition_key()
            invocation_id = ids.invocation_id(pkey, self._rng.randbytes(16))
        return rec.Invoke(
            invocation_id=invocation_id,
            service=service,
            handler=handler,
            key=key,
            input=arg.encode(),
            idempotency_key=idempotency_key,
            mode=rec.SEND,
        )

    def _keyless_partition_key(self) -> int:
        return self._rng.randrange(1 << 64)

    async def _submit(self, group: int, envelope: rec.Envelope, tries: int) -> None:
        for _ in range(tries):
            envelope.timestamp_ms = self._cluster.setup.clock.now_ms()
            try:
                node = self._rng.randrange(self._cluster.nodes.count)  # the node it enters at
                await self._cluster.logs[group].append_from(node, envelope.SerializeToString())
                return
            except LogError:
                await asyncio.sleep(0.1)


def _target(envelope: rec.Envelope) -> str:
    if envelope.HasField("invoke"):
        return envelope.invoke.invocation_id
    return envelope.invocation_command.invocation_id
