"""`make bench-query`: SQL introspection over many completed invocations, and what a heavy query
costs the ingress (issue 9's budget).

One node with the example services; BENCH_QUERY_INVOCATIONS (default 100,000) Counter adds, each
with its own idempotency key (so each is kept, completed, for its retention) over 1,000 keys. Then,
printed: `SELECT count(*) FROM sys_invocation`, a list filtered by key and a count grouped by
service, handler and status (median of three runs, against their budgets), and greet's throughput
over the ingress alone and while the count query runs in a loop (the drop must stay within 20 %).
Exits 1 on a wrong answer."""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

from bench import checks, wrk
from node.local import LocalDeployment, LocalNode, http

JSON = {"content-type": "application/json"}
KEYS = 1000
COUNT_BUDGET_S = 5.0
BY_KEY_BUDGET_S = 1.0
MAX_DROP = 0.20


async def _populate(host: str, port: int, total: int, concurrency: int = 48) -> int:
    """`total` Counter adds with distinct idempotency keys over raw keep-alive connections."""
    next_i = 0
    done = 0

    async def worker() -> None:
        nonlocal next_i, done
        reader, writer = await asyncio.open_connection(host, port)
        try:
            while next_i < total:
                i, next_i = next_i, next_i + 1
                head = (
                    f"POST /Counter/k{i % KEYS}/add HTTP/1.1\r\nhost: {host}\r\n"
                    f"content-type: application/json\r\nidempotency-key: q{i}\r\n"
                    f"content-length: 1\r\n\r\n1"
                )
                writer.write(head.encode())
                status = await reader.readline()
                length = 0
                while (line := await reader.readline()) not in (b"\r\n", b""):
                    name, _, value = line.decode().partition(":")
                    if name.lower() == "content-length":
                        length = int(value)
                await reader.readexactly(length)
                if b" 200 " not in status:
                    raise RuntimeError(f"add {i} answered {status!r}")
                done += 1
        finally:
            writer.close()

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return done


def query(admin: str, sql: str) -> tuple[float, list[dict[str, object]]]:
    started = time.perf_counter()
    status, _, body = http(
        "POST",
        admin + "/query",
        json.dumps({"query": sql}).encode(),
        {**JSON, "accept": "application/json"},
        timeout=120,
    )
    took = time.perf_counter() - started
    if status != 200:
        raise RuntimeError(f"{sql!r} answered {status}: {body[:300]!r}")
    rows: list[dict[str, object]] = json.loads(body)["rows"]
    return took, rows


def median_of_three(admin: str, sql: str) -> tuple[float, list[dict[str, object]]]:
    runs = [query(admin, sql) for _ in range(3)]
    return statistics.median(t for t, _ in runs), runs[-1][1]


def greet_rps(ingress: str, seconds: float) -> float:
    result = wrk.run(ingress, "/Greeter/greet", '"q"', 16, seconds, checks.json_equal("Hello, q!"))
    if result.errors or result.wrong:
        raise RuntimeError(f"greet: {result.errors} errors, {result.wrong} wrong answers")
    return result.rps


def main() -> int:
    total = int(os.environ.get("BENCH_QUERY_INVOCATIONS", "100000"))
    seconds = float(os.environ.get("BENCH_SECONDS", "5"))
    if not wrk.available():
        print("wrk is not installed (apt-get install wrk)", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="perdure-bench-query-") as tmp:
        deployment = LocalDeployment(Path(tmp) / "deployment.log")
        node = LocalNode(Path(tmp) / "node")
        try:
            deployment.start()
            node.start()
            node.register(deployment.uri)
            started = time.perf_counter()
            port = int(node.ingress_url.rsplit(":", 1)[1])
            done = asyncio.run(_populate("127.0.0.1", port, total))
            print(f"{done} completed invocations in {time.perf_counter() - started:.0f} s")

            took, rows = median_of_three(node.admin_url, "SELECT count(*) AS n FROM sys_invocation")
            count = int(str(rows[0]["n"]))
            verdict = "ok" if took <= COUNT_BUDGET_S else "OVER BUDGET"
            print(f"count(*): {count} rows counted in {took:.2f} s ({verdict}, {COUNT_BUDGET_S} s)")
            by_key = (
                "SELECT id, status FROM sys_invocation "
                "WHERE target_service_name = 'Counter' AND target_service_key = 'k7'"
            )
            took_key, key_rows = median_of_three(node.admin_url, by_key)
            verdict = "ok" if took_key <= BY_KEY_BUDGET_S else "OVER BUDGET"
            print(
                f"by key: {len(key_rows)} rows in {took_key:.3f} s ({verdict}, {BY_KEY_BUDGET_S} s)"
            )
            # The shape of `restate services status` and `deployments describe`: a few columns
            # of every status, grouped.
            grouped = (
                "SELECT target_service_name, target_handler_name, status, COUNT(1) AS n "
                "FROM sys_invocation_status "
                "GROUP BY target_service_name, target_handler_name, status"
            )
            took_grouped, grouped_rows = median_of_three(node.admin_url, grouped)
            grouped_count = sum(int(str(r["n"])) for r in grouped_rows)
            verdict = "ok" if took_grouped <= COUNT_BUDGET_S else "OVER BUDGET"
            print(
                f"grouped by service, handler, status: {grouped_count} rows in "
                f"{took_grouped:.2f} s ({verdict}, {COUNT_BUDGET_S} s)"
            )
            wrong = count < done or len(key_rows) != done // KEYS + (done % KEYS > 7)
            wrong = wrong or grouped_count != count

            alone = greet_rps(node.ingress_url, seconds)
            stop = threading.Event()
            queried = [0]

            def heavy() -> None:
                while not stop.is_set():
                    query(node.admin_url, "SELECT count(*) AS n FROM sys_invocation")
                    queried[0] += 1

            thread = threading.Thread(target=heavy, name="heavy-query")
            thread.start()
            try:
                during = greet_rps(node.ingress_url, seconds)
            finally:
                stop.set()
                thread.join()
            drop = 1 - during / alone if alone else 0.0
            verdict = "ok" if drop <= MAX_DROP else f"OVER BUDGET ({MAX_DROP:.0%})"
            print(
                f"greet c=16: {alone:.0f} req/s alone, {during:.0f} req/s while {queried[0]} "
                f"count(*) queries ran: {drop:+.0%} ({verdict})"
            )
        finally:
            node.stop()
            deployment.stop()
    if wrong:
        print("wrong answer: the counts do not match the invocations made", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
