"""greet over the gRPC ingress: N concurrent callers in a closed loop, each on a connection of
its own (as wrk's connections; with several partition processes the kernel spreads them), with
grpc.aio in this process. The Python client costs CPU on the machine it measures, like
bench/flows.py's; the CPU meter's server figure is the node's alone."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import grpc

from bench import checks
from bench.checks import Reply, Tally
from bench.wrk import Result
from perdure_proto import ingress_pb2 as ipb
from perdure_proto import ingress_pb2_grpc as ipb_grpc

CALL_TIMEOUT_S = 30.0  # as wrk's --timeout
JUDGE_EVERY = 50  # every n-th answer is checked (wrk samples too): judging costs client CPU
GREETED = checks.json_equal("Hello, bench!")


async def _caller(target: str, deadline: float, latencies: list[float], tally: Tally) -> None:
    options = [("grpc.use_local_subchannel_pool", 1)]  # a connection of its own
    async with grpc.aio.insecure_channel(target, options=options) as channel:
        stub: Any = ipb_grpc.IngressStub(channel)  # type: ignore[no-untyped-call]
        request = ipb.CallRequest(service="Greeter", handler="greet", json='"bench"')
        answered = 0
        while time.perf_counter() < deadline:
            t0 = time.perf_counter()
            try:
                answer = await stub.Call(request, timeout=CALL_TIMEOUT_S)
            except grpc.aio.AioRpcError as err:
                tally.error(f"Greeter/greet over gRPC: {err.code().name}: {err.details()}")
                continue
            latencies.append(time.perf_counter() - t0)
            if answered % JUDGE_EVERY == 0:
                tally.judge(GREETED, Reply(200, answer.json.encode()))
            answered += 1


async def _closed_loop(target: str, concurrency: int, seconds: float) -> Result:
    latencies: list[float] = []
    tally = Tally()
    started = time.perf_counter()
    deadline = started + seconds
    await asyncio.gather(*(_caller(target, deadline, latencies, tally) for _ in range(concurrency)))
    elapsed = time.perf_counter() - started
    latencies.sort()

    def pct(p: float) -> float:
        if not latencies:
            return 0.0
        return latencies[min(len(latencies) - 1, int(len(latencies) * p))] * 1000

    return Result(
        requests=len(latencies),
        seconds=elapsed,
        errors=tally.errors,
        checked=tally.checked,
        wrong=tally.wrong,
        samples=tuple(tally.samples),
        p50_ms=pct(0.5),
        p90_ms=pct(0.9),
        p99_ms=pct(0.99),
    )


def greet(target: str, concurrency: int, seconds: float) -> Result:
    """`target`: the gRPC ingress, host:port."""
    return asyncio.run(_closed_loop(target, concurrency, seconds))
