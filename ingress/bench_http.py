"""Throughput sanity check of the ingress HTTP path (not a test).

Serves `IngressHandler` over a trivial in-memory backend (every call completes at once, echoing
its input) in a child process on uvloop, loads it with a built-in asyncio client (or `wrk` when
installed and `--wrk` is given), and prints requests/s and the server's CPU time per request.

    .venv/bin/python -m ingress.bench_http [--seconds 5] [--connections 32] [--wrk]
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import shutil
import subprocess
import tempfile
import time
from multiprocessing.connection import Connection

from ingress.api import (
    Completed,
    HandlerInfo,
    InvocationRef,
    InvokeRequest,
    Outcome,
    Rejected,
)
from ingress.handlers import IngressHandler
from ingress.http import HttpServer, HttpServerOptions
from ingress.responses import ingress_error
from perdure_proto import protocol_pb2 as pb

BODY = b'{"name":"world","count":42}'
PATH = "/Greeter/greet"


class EchoBackend:
    """Every invocation completes immediately with its input as output."""

    _info = HandlerInfo(
        service="Greeter",
        handler="greet",
        service_kind="service",
        handler_kind=None,
        input_present=True,
        input_required=False,
        accept="application/json",
        output_present=True,
        output_content_type="application/json",
        set_content_type_if_empty=False,
        public=True,
    )

    def service_exists(self, service: str) -> bool:
        return service == "Greeter"

    def handler(self, service: str, handler: str) -> HandlerInfo | None:
        return self._info if (service, handler) == ("Greeter", "greet") else None

    async def invoke(self, request: InvokeRequest) -> Outcome:
        return Completed("inv_1bench", pb.Result(value=request.body))

    async def attach(self, ref: InvocationRef) -> Outcome:
        return Rejected(404, "invocation not found")

    async def output(self, ref: InvocationRef) -> Outcome:
        return Rejected(404, "invocation not found")

    async def complete_awakeable(self, awakeable_id: str, result: pb.Result) -> Rejected | None:
        return None


def _serve(conn: Connection) -> None:
    import uvloop

    async def main() -> None:
        server = HttpServer(
            IngressHandler(EchoBackend()),
            HttpServerOptions(host="127.0.0.1", name="bench"),
            error_response=ingress_error,
        )
        conn.send(await server.start())
        await asyncio.get_running_loop().run_in_executor(None, conn.recv)
        await server.close()

    uvloop.run(main())


async def _client_load(port: int, connections: int, seconds: float) -> int:
    request = (
        f"POST {PATH} HTTP/1.1\r\nHost: bench\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(BODY)}\r\n\r\n"
    ).encode() + BODY
    deadline = time.monotonic() + seconds
    counts = [0] * connections

    async def one(i: int) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        while time.monotonic() < deadline:
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            length = int(head.lower().split(b"content-length: ", 1)[1].split(b"\r\n", 1)[0])
            await reader.readexactly(length)
            counts[i] += 1
        writer.close()

    await asyncio.gather(*(one(i) for i in range(connections)))
    return sum(counts)


def _wrk_load(port: int, connections: int, seconds: float) -> int:
    script = (
        'wrk.method = "POST"\n'
        f"wrk.body = '{BODY.decode()}'\n"
        'wrk.headers["Content-Type"] = "application/json"\n'
    )
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
        f.write(script)
    try:
        out = subprocess.run(
            [
                "wrk",
                "-t1",
                f"-c{connections}",
                f"-d{int(seconds)}s",
                "-s",
                f.name,
                f"http://127.0.0.1:{port}{PATH}",
            ],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    finally:
        os.unlink(f.name)
    for line in out.splitlines():
        if "requests in" in line:
            return int(line.split()[0])
    raise RuntimeError(f"cannot read wrk output:\n{out}")


def _cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--wrk", action="store_true", help="load with wrk if installed")
    args = parser.parse_args()
    ours, theirs = multiprocessing.Pipe()
    child = multiprocessing.get_context("fork").Process(target=_serve, args=(theirs,))
    child.start()
    port = ours.recv()
    use_wrk = args.wrk and shutil.which("wrk") is not None
    asyncio.run(_client_load(port, 4, 0.5))  # warm-up
    cpu_before, wall_before = _cpu_seconds(child.pid or 0), time.monotonic()
    if use_wrk:
        total = _wrk_load(port, args.connections, args.seconds)
    else:
        total = asyncio.run(_client_load(port, args.connections, args.seconds))
    wall = time.monotonic() - wall_before
    cpu = _cpu_seconds(child.pid or 0) - cpu_before
    ours.send("stop")
    child.join(10)
    print(
        f"{'wrk' if use_wrk else 'asyncio client'}, {args.connections} connections: "
        f"{total} requests in {wall:.1f}s = {total / wall:,.0f} req/s; "
        f"server CPU {cpu / max(total, 1) * 1e6:.1f} µs/request ({cpu / wall:.2f} cores)"
    )


if __name__ == "__main__":
    main()
