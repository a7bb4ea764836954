"""A pure harness for the partition state machine: a real RocksDB in a temp dir, no network,
no threads. Apply records, then assert actions and table rows."""

from __future__ import annotations

from pathlib import Path

from partition import actions as act
from partition import tables
from partition.state_machine import StateMachine
from partition.store import Store
from perdure_proto import protocol_pb2 as pb
from perdure_proto import records_pb2 as rec
from perdure_proto import storage_pb2 as st


def manifest() -> pb.Manifest:
    m = pb.Manifest(min_protocol_version=1, max_protocol_version=1)
    greeter = m.services.add(name="Greeter", ty=pb.SERVICE)
    greeter.handlers.add(name="greet")
    counter = m.services.add(name="Counter", ty=pb.VIRTUAL_OBJECT)
    counter.handlers.add(name="add", ty=pb.EXCLUSIVE)
    counter.handlers.add(name="get", ty=pb.SHARED)
    wf = m.services.add(name="Signup", ty=pb.WORKFLOW)
    wf.handlers.add(name="run", ty=pb.WORKFLOW_RUN)
    wf.handlers.add(name="approve", ty=pb.SHARED)
    for svc in m.services:
        for h in svc.handlers:
            h.output.present = True
            h.output.content_type = "application/json"
    return m


class Scenario:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.store = Store(path)
        self.sm = StateMachine(self.store)
        self.lsn = self.store.applied_lsn() or 0
        self.now_ms = 1_000_000

    def apply(self, envelope: rec.Envelope) -> list[act.Action]:
        envelope.timestamp_ms = self.now_ms
        self.lsn += 1
        txn = self.store.transaction()
        actions = self.sm.apply(txn, envelope.SerializeToString())
        txn.commit(self.lsn)
        return actions

    def register(self) -> list[act.Action]:
        return self.apply(
            rec.Envelope(
                register_deployment=rec.RegisterDeployment(
                    deployment_id="dp_1", uri="http://127.0.0.1:9080", manifest=manifest()
                )
            )
        )

    def invoke(
        self,
        invocation_id: str,
        service: str,
        handler: str,
        key: str = "",
        request_id: int = 0,
        send: bool = False,
        idempotency_key: str = "",
    ) -> list[act.Action]:
        return self.apply(
            rec.Envelope(
                invoke=rec.Invoke(
                    invocation_id=invocation_id,
                    service=service,
                    handler=handler,
                    key=key,
                    input=b"1",
                    idempotency_key=idempotency_key,
                    mode=rec.SEND if send else rec.CALL,
                    reply=rec.Reply(request_id=request_id),
                )
            )
        )

    def effect(self, invocation_id: str, *entries: tuple[int, pb.JournalEntry]) -> list[act.Action]:
        effect = rec.InvokerEffect(invocation_id=invocation_id, attempt=1, deployment_id="dp_1")
        for index, entry in entries:
            effect.commands.add(index=index, entry=entry)
        return self.apply(rec.Envelope(invoker_effect=effect))

    def output(self, invocation_id: str, index: int, value: bytes) -> list[act.Action]:
        entry = pb.JournalEntry(output=pb.Output(result=pb.Result(value=value)))
        return self.effect(invocation_id, (index, entry))

    def status(self, invocation_id: str) -> st.InvocationStatus:
        status = tables.get_status(self.store, invocation_id)
        if status is None:
            raise LookupError(invocation_id)
        return status

    def state(self, service: str, key: str) -> dict[str, bytes]:
        return {e.key: e.value for e in tables.state_entries(self.store, service, key)}

    def reopen(self) -> None:
        self.store.close()
        self.__init__(self.path)  # type: ignore[misc]


def set_state(key: str, value: bytes) -> pb.JournalEntry:
    return pb.JournalEntry(set_state=pb.SetState(key=key, value=value))


def run(value: bytes) -> pb.JournalEntry:
    return pb.JournalEntry(run=pb.Run(result=pb.Result(value=value)))
