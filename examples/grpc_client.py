"""A client of the gRPC ingress (perdure.v1.Ingress, port 9090), against the services of
`make run` (examples/services.py): first with the generated stub, then with the typed client.

    make run                                   # in another terminal
    python -m examples.grpc_client             # or --target host:port

With the stub, a request names the service, handler and key; the body is the handler's JSON
(`json` as text, or `body` as bytes), and the idempotency key and any headers travel as
metadata. An error is a gRPC status; its trailers say what the HTTP ingress would have answered
(`perdure-error-code`) and carry the whole failure (`perdure-failure-bin`).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import uuid

import grpc

import perdure as restate
from examples.services import add, greet
from perdure_proto import ingress_pb2 as ipb
from perdure_proto import ingress_pb2_grpc as ipb_grpc


async def with_the_stub(target: str) -> list[str]:
    lines: list[str] = []
    async with grpc.aio.insecure_channel(target) as channel:
        ingress = ipb_grpc.IngressStub(channel)  # type: ignore[no-untyped-call]

        answer = await ingress.Call(
            ipb.CallRequest(service="Greeter", handler="greet", json='"gRPC"')
        )
        lines.append(f"Greeter/greet: {json.loads(answer.json)}")

        # A send with an idempotency key: sent twice, it is one invocation (added once).
        key = f"grpc-{uuid.uuid4().hex[:8]}"
        send = ipb.SendRequest(service="Counter", handler="add", key=key, json="5")
        metadata = (("idempotency-key", f"add-5-to-{key}"),)
        first = await ingress.Send(send, metadata=metadata)
        again = await ingress.Send(send, metadata=metadata)
        same = first.invocation_id == again.invocation_id
        status = ipb.SendStatus.Name(again.status)
        lines.append(f"Counter/{key}/add sent twice: same invocation {same} ({status})")
        result = await ingress.Attach(ipb.InvocationTarget(invocation_id=first.invocation_id))
        lines.append(f"attached: {json.loads(result.json)}")

        try:
            await ingress.Call(ipb.CallRequest(service="Greeter", handler="greet", json="{oops"))
        except grpc.aio.AioRpcError as error:
            trailers = dict(error.trailing_metadata() or ())
            http_status = trailers.get("perdure-error-code")
            lines.append(f"bad JSON: {error.code().name} (HTTP {http_status})")
    return lines


async def with_the_typed_client(target: str) -> list[str]:
    async with restate.create_client(f"grpc://{target}") as client:
        greeting = await client.service_call(greet, arg="typed client")
        count = await client.object_call(add, key=f"typed-{uuid.uuid4().hex[:8]}", arg=2)
        try:
            await client.generic_call("NoSuchService", "run", b"")
            missing = "found"
        except restate.HttpError as error:  # the same exception as over HTTP
            missing = f"HTTP {error.status_code}"
    return [
        f"typed: {greeting}",
        f"typed Counter/add: {count}",
        f"typed unknown service: {missing}",
    ]


async def main(target: str) -> list[str]:
    lines = await with_the_stub(target) + await with_the_typed_client(target)
    for line in lines:
        print(line)
    return lines


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="python -m examples.grpc_client")
    parser.add_argument("--target", default="localhost:9090", help="the gRPC ingress, host:port")
    asyncio.run(main(parser.parse_args().target))
