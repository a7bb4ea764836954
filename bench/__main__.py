"""`make bench`: the workloads of BRIEF.md section 7 against a node this script starts.

Prints, for each workload and concurrency, throughput and latency percentiles, next to an
in-run reference (a plain asyncio echo server measured the same way), plus the node's start-up
time and its RSS (and the deployment's) idle and after the load.

Environment: BENCH_SECONDS (per cell, default 5), BENCH_CONCURRENCY (default "1,16,64"),
BENCH_WORKLOADS (default all: greet, counter_random, counter_hot, run3, send, workflow).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

from bench import flows, wrk
from node.local import LocalDeployment, LocalNode, free_port, http

WORKLOADS: dict[str, tuple[str, str, bool]] = {
    # name: (path, JSON body, random key)
    "greet": ("/Greeter/greet", '"bench"', False),
    "counter_random": ("/Counter/{key}/add", "1", True),
    "counter_hot": ("/Counter/hot/add", "1", False),
    "run3": ("/Steps/run3", "1", False),
    "send": ("/Counter/{key}/add/send", "1", True),
    "workflow": ("", "", False),  # driven by bench.flows (send run, resolve, attach)
}


def rss_mb(pid: int) -> float:
    try:
        return float(psutil.Process(pid).memory_info().rss) / 2**20
    except psutil.Error:
        return float("nan")


def echo_baseline(seconds: float, connections: int) -> wrk.Result:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "bench.echo", str(port)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None
        proc.stdout.readline()
        return wrk.run(f"http://127.0.0.1:{port}", "/echo", '"bench"', connections, seconds)
    finally:
        proc.kill()
        proc.wait(10)


def main() -> int:
    if not wrk.available():
        print("wrk is not installed: `apt-get install -y wrk` (make bench does this)")
        return 2
    seconds = float(os.environ.get("BENCH_SECONDS", "5"))
    concurrency = [int(c) for c in os.environ.get("BENCH_CONCURRENCY", "1,16,64").split(",")]
    names = os.environ.get("BENCH_WORKLOADS", ",".join(WORKLOADS)).split(",")
    tmp = Path(tempfile.mkdtemp(prefix="perdure-bench-"))
    deployment = LocalDeployment(tmp / "deployment.log")
    node = LocalNode(tmp / "data")
    rows: list[tuple[str, int, wrk.Result]] = []
    drains: dict[int, float] = {}
    try:
        deployment.start()
        t0 = time.perf_counter()
        node.start()
        startup = time.perf_counter() - t0
        node.register(deployment.uri)
        http(
            "POST",
            node.ingress_url + "/Greeter/greet",
            b'"warm"',
            {"content-type": "application/json"},
        )
        time.sleep(1)
        idle = (rss_mb(node.process.pid), rss_mb(deployment.process.pid))  # type: ignore[union-attr]
        for name in names:
            path, body, random_key = WORKLOADS[name]
            for c in concurrency:
                before = flows.completed_total(node.admin_url)
                if name == "workflow":
                    result = flows.workflow(node.ingress_url, c, seconds)
                else:
                    result = wrk.run(node.ingress_url, path, body, c, seconds, random_key)
                rows.append((name, c, result))
                extra = ""
                if name == "send":
                    drain = flows.drain_seconds(node.admin_url, before + result.requests)
                    drains[c] = drain
                    extra = f", drained {drain:.2f} s after the load stopped"
                print(f"  {name:15s} c={c:<3d} {result.rps:9.0f} req/s{extra}", flush=True)
        loaded = (rss_mb(node.process.pid), rss_mb(deployment.process.pid))  # type: ignore[union-attr]
    finally:
        node.stop()
        deployment.stop()
    baseline = echo_baseline(seconds, 64)
    print()
    print(
        f"{'workload':15s} {'conc':>4s} {'req/s':>9s} {'p50 ms':>8s} {'p90 ms':>8s} "
        f"{'p99 ms':>8s} {'errors':>6s} {'vs echo':>8s}"
    )
    for name, c, r in rows:
        print(
            f"{name:15s} {c:4d} {r.rps:9.0f} {r.p50_ms:8.2f} {r.p90_ms:8.2f} {r.p99_ms:8.2f} "
            f"{r.errors:6d} {r.rps / baseline.rps:8.3f}"
        )
    print(
        f"{'asyncio echo':15s} {64:4d} {baseline.rps:9.0f} {baseline.p50_ms:8.2f} "
        f"{baseline.p90_ms:8.2f} {baseline.p99_ms:8.2f} {baseline.errors:6d} {1.0:8.3f}"
    )
    for c, drain in drains.items():
        sent = next(r for n, cc, r in rows if n == "send" and cc == c)
        total = sent.seconds + drain
        print(
            f"send c={c}: {sent.rps:.0f} accepted/s; all {sent.requests} completed "
            f"{drain:.2f} s after the load ({sent.requests / total:.0f} completed/s overall)"
        )
    print()
    print(f"node start-up to ready: {startup:.2f} s")
    print(f"RSS idle:       node {idle[0]:.0f} MB, deployment {idle[1]:.0f} MB")
    print(f"RSS after load: node {loaded[0]:.0f} MB, deployment {loaded[1]:.0f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
