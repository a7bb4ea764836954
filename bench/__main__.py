"""`make bench`: the workloads of BRIEF.md section 7 against a node this script starts.

Prints, for each workload and concurrency, throughput and latency percentiles, next to an
in-run reference (a plain asyncio echo server measured the same way), plus the node's start-up
time and its RSS (and the deployment's) idle and after the load. With BENCH_PEER=restate it
also runs the official Restate server + Python SDK on the same example services in the same
run (bench/peer.py) and prints Perdure's throughput as a ratio to it.

Environment: BENCH_SECONDS (per cell, default 5), BENCH_CONCURRENCY (default "1,16,64"),
BENCH_WORKLOADS (default all: greet, counter_random, counter_hot, run3, send, workflow),
BENCH_PEER ("restate" to add the peer).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import psutil

from bench import flows, peer, wrk
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


@dataclass
class Run:
    """The results of one system under test."""

    label: str
    rows: dict[tuple[str, int], wrk.Result] = field(default_factory=dict)
    drains: dict[int, float] = field(default_factory=dict)
    startup_s: float = 0.0
    rss_idle: tuple[float, float] = (0.0, 0.0)
    rss_loaded: tuple[float, float] = (0.0, 0.0)


@dataclass(frozen=True, slots=True)
class Settings:
    seconds: float
    concurrency: list[int]
    names: list[str]


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
        if proc.stdout is not None:
            proc.stdout.readline()
        return wrk.run(f"http://127.0.0.1:{port}", "/echo", '"bench"', connections, seconds)
    finally:
        proc.kill()
        proc.wait(10)


def load(run: Run, settings: Settings, ingress: str, admin: str | None) -> None:
    """Every workload at every concurrency against `ingress` (drain times need `admin`)."""
    http("POST", ingress + "/Greeter/greet", b'"warm"', {"content-type": "application/json"})
    for name in settings.names:
        path, body, random_key = WORKLOADS[name]
        for c in settings.concurrency:
            before = flows.completed_total(admin) if admin else 0.0
            if name == "workflow":
                result = flows.workflow(ingress, c, settings.seconds)
            else:
                result = wrk.run(ingress, path, body, c, settings.seconds, random_key)
            run.rows[(name, c)] = result
            extra = ""
            if name == "send" and admin:
                run.drains[c] = flows.drain_seconds(admin, before + result.requests)
                extra = f", drained {run.drains[c]:.2f} s after the load stopped"
            print(f"  {run.label:8s} {name:15s} c={c:<3d} {result.rps:9.0f} req/s{extra}")


def bench_perdure(settings: Settings, tmp: Path) -> Run:
    run = Run("perdure")
    deployment = LocalDeployment(tmp / "deployment.log")
    node = LocalNode(tmp / "data")
    try:
        deployment.start()
        t0 = time.perf_counter()
        node.start()
        run.startup_s = time.perf_counter() - t0
        node.register(deployment.uri)
        time.sleep(1)
        pids = (
            node.process.pid if node.process else -1,
            deployment.process.pid if deployment.process else -1,
        )
        run.rss_idle = (rss_mb(pids[0]), rss_mb(pids[1]))
        load(run, settings, node.ingress_url, node.admin_url)
        run.rss_loaded = (rss_mb(pids[0]), rss_mb(pids[1]))
    finally:
        node.stop()
        deployment.stop()
    return run


def bench_restate(settings: Settings, tmp: Path) -> Run:
    run = Run("restate")
    peer.install()
    restate = peer.RestatePeer(tmp / "restate")
    restate.data_dir.mkdir(parents=True, exist_ok=True)
    try:
        t0 = time.perf_counter()
        restate.start()
        run.startup_s = time.perf_counter() - t0  # includes the SDK start and registration
        time.sleep(1)
        run.rss_idle = (rss_mb(restate.pids[0]), rss_mb(restate.pids[1]))
        load(run, settings, restate.ingress_url, None)
        run.rss_loaded = (rss_mb(restate.pids[0]), rss_mb(restate.pids[1]))
    finally:
        restate.stop()
    return run


def report(runs: list[Run], baseline: wrk.Result) -> None:
    ours = runs[0]
    others = runs[1:]
    head = f"{'workload':15s} {'conc':>4s} {'req/s':>8s} {'p50 ms':>7s} {'p90 ms':>7s} "
    head += f"{'p99 ms':>7s} {'err':>4s} {'/echo':>6s}"
    for other in others:
        head += f" | {other.label + ' req/s':>13s} {'p50':>6s} {'p99':>6s} {'ratio':>6s}"
    print()
    print(head)
    for (name, c), r in ours.rows.items():
        line = f"{name:15s} {c:4d} {r.rps:8.0f} {r.p50_ms:7.2f} {r.p90_ms:7.2f} "
        line += f"{r.p99_ms:7.2f} {r.errors:4d} {r.rps / baseline.rps:6.3f}"
        for other in others:
            o = other.rows.get((name, c))
            if o is not None:
                ratio = r.rps / o.rps if o.rps else float("inf")
                line += f" | {o.rps:13.0f} {o.p50_ms:6.2f} {o.p99_ms:6.2f} {ratio:6.2f}"
        print(line)
    print(
        f"{'asyncio echo':15s} {64:4d} {baseline.rps:8.0f} {baseline.p50_ms:7.2f} "
        f"{baseline.p90_ms:7.2f} {baseline.p99_ms:7.2f} {baseline.errors:4d} {1.0:6.3f}"
    )
    for c, drain in ours.drains.items():
        sent = ours.rows[("send", c)]
        print(
            f"send c={c}: {sent.rps:.0f} accepted/s; all {sent.requests} completed "
            f"{drain:.2f} s after the load ({sent.requests / (sent.seconds + drain):.0f} "
            "completed/s overall)"
        )
    print()
    for run in runs:
        print(
            f"{run.label}: start-up to ready {run.startup_s:.2f} s; RSS idle server "
            f"{run.rss_idle[0]:.0f} MB + deployment {run.rss_idle[1]:.0f} MB; after load "
            f"{run.rss_loaded[0]:.0f} MB + {run.rss_loaded[1]:.0f} MB"
        )


def main() -> int:
    if not wrk.available():
        print("wrk is not installed: `apt-get install -y wrk` (make bench does this)")
        return 2
    settings = Settings(
        seconds=float(os.environ.get("BENCH_SECONDS", "5")),
        concurrency=[int(c) for c in os.environ.get("BENCH_CONCURRENCY", "1,16,64").split(",")],
        names=os.environ.get("BENCH_WORKLOADS", ",".join(WORKLOADS)).split(","),
    )
    tmp = Path(tempfile.mkdtemp(prefix="perdure-bench-"))
    runs = [bench_perdure(settings, tmp)]
    if os.environ.get("BENCH_PEER") == "restate":
        runs.append(bench_restate(settings, tmp))
    report(runs, echo_baseline(settings.seconds, 64))
    return 0


if __name__ == "__main__":
    sys.exit(main())
