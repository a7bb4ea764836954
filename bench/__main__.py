"""`make bench`: the workloads of BRIEF.md section 7 against a node this script starts.

Prints, for each workload and concurrency, throughput and latency percentiles, next to an
in-run reference (a plain asyncio echo server measured the same way), plus the node's start-up
time and its RSS (and the deployment's) idle and after the load. With BENCH_PEER=restate it
also runs the official Restate server + Python SDK on the same example services in the same
run (bench/peer.py) and prints Perdure's throughput as a ratio to it.

Every answer counts: a cell fails on any error (no answer, a timeout, a non-2xx status) and on
any wrong body among those sampled and judged (bench/checks.py), and the run then exits 1 after
saying which cells failed and how. The raw results go to bench/results/ (bench/results.py);
the temporary directory with the nodes' data and logs is removed however the run ends (the
logs' tails are printed first when something failed).

The single-node systems of a run (BENCH_PROCESSES) are started together and measured
interleaved: each cell runs in BENCH_ROUNDS rounds (default 4), each round measuring every
system in turn (the order reversed every other round) while the others are stopped (SIGSTOP), so
a shared machine whose speed drifts weighs on every system alike. A cell's figures add up its
rounds (latency percentiles: the worse round's).

Environment: BENCH_SECONDS (per cell and system, split into the rounds; default 5),
BENCH_ROUNDS, BENCH_CONCURRENCY (default "1,16,64"),
BENCH_WORKLOADS (default all: greet, greet_grpc, counter_random, counter_hot, run3, send,
workflow; greet_grpc is greet through the gRPC ingress, bench/grpc_load.py),
BENCH_PEER ("restate" to add the peer), BENCH_CLUSTER ("1": also 3 nodes on this machine, the
load sent to one of them; `make bench-cluster`), BENCH_PROCESSES (partition processes per
Perdure run, default "<cores>,1": one process per core, then one process in the same run; the
ratio columns compare the first with the others).
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

import psutil

from bench import checks, flows, grpc_load, peer, results, wrk
from bench.checks import Check
from bench.results import Run
from node.local import LocalCluster, LocalDeployment, LocalNode, free_port, http

JSON = {"content-type": "application/json"}


@dataclass(frozen=True, slots=True)
class Workload:
    path: str
    body: str
    check: Check
    random_key: bool = False  # replace {key} in the path by a random key per request


WORKLOADS: dict[str, Workload | None] = {
    "greet": Workload("/Greeter/greet", '"bench"', checks.json_equal("Hello, bench!")),
    "greet_grpc": None,  # greet through the gRPC ingress (bench.grpc_load)
    "counter_random": Workload("/Counter/{key}/add", "1", checks.count_above(0), True),
    "counter_hot": None,  # its check depends on the count before the cell: counter_hot()
    "run3": Workload("/Steps/run3", "1", checks.json_equal(1 + 1 + 2 + 3)),
    "send": Workload("/Counter/{key}/add/send", "1", checks.accepted, True),
    "workflow": None,  # driven by bench.flows (send run, resolve, attach)
}


@dataclass(frozen=True, slots=True)
class Settings:
    seconds: float
    concurrency: list[int]
    names: list[str]
    peer: bool
    processes: list[int]  # partition processes of each Perdure run; the first is "perdure"
    cluster: bool = False  # also run 3 nodes on this machine (`make bench-cluster`)
    rounds: int = 4  # each cell's seconds are split into this many rounds (see `load`)

    def as_dict(self) -> results.Document:
        return {
            "seconds": self.seconds,
            "concurrency": self.concurrency,
            "workloads": self.names,
            "peer": "restate" if self.peer else None,
            "processes": self.processes,
            "cluster": self.cluster,
            "rounds": self.rounds,
        }


def tree(pid: int) -> list[psutil.Process]:
    """`pid` and its children (a node's partition processes, its query worker); raises
    psutil.Error when `pid` is gone."""
    proc = psutil.Process(pid)
    return [proc, *proc.children(recursive=True)]


def rss_mb(pid: int) -> float:
    """RSS of `pid` and its children."""
    try:
        return float(sum(p.memory_info().rss for p in tree(pid))) / 2**20
    except psutil.Error:
        return float("nan")


def cpu_s(pid: int) -> float:
    """CPU seconds (user + system) used so far by `pid` and its children."""
    try:
        return float(sum(t.user + t.system for t in (p.cpu_times() for p in tree(pid))))
    except psutil.Error:
        return float("nan")


def busy_s() -> float:
    """CPU seconds the whole machine spent not idle, over all its cores."""
    t = psutil.cpu_times()
    return float(sum(t)) - float(t.idle) - float(getattr(t, "iowait", 0.0))


@dataclass(frozen=True, slots=True)
class CpuMeter:
    """What one cell cost in CPU: ms per request of the server and of the deployment, and the
    machine's busy fraction (1.0 = every core busy: more processes cannot help then)."""

    servers: tuple[int, ...]  # every node's process (each with its partition processes)
    deployment: int

    def _servers(self) -> float:
        return sum(cpu_s(pid) for pid in self.servers)

    def start(self) -> tuple[float, float, float, float]:
        return (self._servers(), cpu_s(self.deployment), busy_s(), time.monotonic())

    def stop(self, begun: tuple[float, float, float, float], requests: int) -> results.Cpu:
        server, deployment, busy, t0 = begun
        per = 1000.0 / max(1, requests)
        wall = max(1e-9, time.monotonic() - t0) * (psutil.cpu_count() or 1)
        return results.Cpu(
            (self._servers() - server) * per,
            (cpu_s(self.deployment) - deployment) * per,
            (busy_s() - busy) / wall,
        )


def echo_baseline(seconds: float, connections: int) -> wrk.Result:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "bench.echo", str(port)], stdout=subprocess.PIPE, text=True
    )
    try:
        if proc.stdout is not None:
            proc.stdout.readline()
        echoed = checks.json_equal("bench")
        return wrk.run(f"http://127.0.0.1:{port}", "/echo", '"bench"', connections, seconds, echoed)
    finally:
        proc.kill()
        proc.wait(10)


def settled_count(ingress: str, key: str, bound_s: float = 30.0) -> int:
    """Counter `key`'s count once it stopped moving: adds still in flight when a load stopped
    keep running after it."""
    last: int | None = None
    deadline = time.monotonic() + bound_s
    while time.monotonic() < deadline:
        status, _, body = http("GET", f"{ingress}/Counter/{key}/get")
        if status != 200:
            raise RuntimeError(f"Counter/{key}/get answered {status} {body[:200]!r}")
        count = int(json.loads(body) or 0)
        if count == last:
            return count
        last = count
        time.sleep(0.3)
    raise TimeoutError(f"Counter/{key} was still counting after {bound_s} s")


def counter_hot(ingress: str, c: int, seconds: float) -> wrk.Result:
    """Adds to one key: every answer a new count above the one before the load, and the
    count grown by exactly the adds answered (plus at most the ones in flight)."""
    before = settled_count(ingress, "hot")
    result = wrk.run(ingress, "/Counter/hot/add", "1", c, seconds, checks.count_above(before))
    after = settled_count(ingress, "hot")
    why = checks.hot_counter(before, after, result.requests - result.errors, c)
    return result if why is None else result.with_wrong(why)


def measure(
    name: str, c: int, seconds: float, ingress: str, grpc_target: str | None = None
) -> wrk.Result:
    workload = WORKLOADS[name]
    if name == "greet_grpc":
        if grpc_target is None:
            raise ValueError("greet_grpc needs the node's gRPC ingress")
        return grpc_load.greet(grpc_target, c, seconds)
    if name == "workflow":
        return flows.workflow(ingress, c, seconds)
    if name == "counter_hot":
        return counter_hot(ingress, c, seconds)
    if workload is None:
        raise ValueError(f"workload {name} has no wrk form")
    return wrk.run(
        ingress, workload.path, workload.body, c, seconds, workload.check, workload.random_key
    )


@dataclass
class Target:
    """A started system under load: where to send it, whose CPU to count, and how to set it
    aside (SIGSTOP) while another system of the same run is measured."""

    run: Run
    ingress: str
    admin: str | None  # drain times of sends need it
    servers: tuple[int, ...]  # every node's process (each with its partition processes)
    deployment: int
    grpc_target: str | None = None

    def _pids(self) -> tuple[list[int], list[int]]:
        """(the servers' processes, the deployment's), children included."""

        def pids(pid: int) -> list[int]:
            try:
                return [p.pid for p in tree(pid)]
            except psutil.Error:
                return []

        return [p for s in self.servers for p in pids(s)], pids(self.deployment)

    def _signal(self, sig: int, pids: list[int]) -> None:
        for pid in pids:
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                pass

    def pause(self) -> None:
        """Stop every process of the system (the servers first): nothing of it runs, polls or
        wakes while another system is measured."""
        servers, deployment = self._pids()
        self._signal(signal.SIGSTOP, servers + deployment)

    def resume(self) -> None:
        """Continue it (the deployment first, so the servers find it running)."""
        servers, deployment = self._pids()
        self._signal(signal.SIGCONT, deployment + servers)
        time.sleep(RESUME_SETTLE_S)

    def rss(self) -> tuple[float, float]:
        return (sum(rss_mb(pid) for pid in self.servers), rss_mb(self.deployment))


RESUME_SETTLE_S = 0.3  # after SIGCONT, before the load: timers due while stopped fire first
SETTLE_S = 0.3  # after a load, before SIGSTOP: requests it left in flight are answered


@dataclass(frozen=True, slots=True)
class Part:
    """One round of one cell."""

    result: wrk.Result
    cpu: results.Cpu
    drain_s: float | None


def measure_part(target: Target, name: str, c: int, seconds: float) -> Part:
    meter = CpuMeter(target.servers, target.deployment)
    admin = target.admin
    before = flows.completed_total(admin) if admin and name == "send" else 0.0
    begun = meter.start()
    result = measure(name, c, seconds, target.ingress, target.grpc_target)
    cpu = meter.stop(begun, result.requests)
    drain = None
    if name == "send" and admin:
        drain = flows.drain_seconds(admin, before + result.requests)
        if drain is None:
            result = result.with_wrong("the accepted sends did not all complete in time")
    return Part(result, cpu, drain)


def combine(parts: list[Part]) -> Part:
    """The rounds of a cell as one: counts summed, CPU per request weighted by requests, the
    machine's busy share by time, latency percentiles the worst round's (a conservative
    figure: percentiles of separate runs cannot be merged), drain the longest."""
    rs = [p.result for p in parts]
    answered = sum(r.requests for r in rs) or 1
    seconds = sum(r.seconds for r in rs) or 1e-9
    result = wrk.Result(
        requests=sum(r.requests for r in rs),
        seconds=sum(r.seconds for r in rs),
        errors=sum(r.errors for r in rs),
        checked=sum(r.checked for r in rs),
        wrong=sum(r.wrong for r in rs),
        samples=tuple(s for r in rs for s in r.samples),
        p50_ms=max(r.p50_ms for r in rs),
        p90_ms=max(r.p90_ms for r in rs),
        p99_ms=max(r.p99_ms for r in rs),
    )
    cpu = results.Cpu(
        sum(p.cpu.server_ms * p.result.requests for p in parts) / answered,
        sum(p.cpu.deployment_ms * p.result.requests for p in parts) / answered,
        sum(p.cpu.busy * p.result.seconds for p in parts) / seconds,
    )
    drains = [p.drain_s for p in parts if p.drain_s is not None]
    return Part(result, cpu, max(drains) if drains else None)


def load(targets: list[Target], settings: Settings) -> None:
    """Every workload at every concurrency against every target, interleaved: each cell runs
    in `settings.rounds` rounds, each round measuring every target in turn (the order reversed
    every other round: A B, B A, ...) while the others are stopped. A machine whose speed drifts
    (this one is shared) then weighs on every target alike, instead of on whichever ran during
    the slow minutes."""
    interleaved = len(targets) > 1
    for target in targets:
        target.run.rss_idle = target.rss()
        http("POST", target.ingress + "/Greeter/greet", b'"warm"', JSON)
        if interleaved:
            target.pause()
    seconds = max(1.0, math.ceil(settings.seconds / settings.rounds))
    for name in settings.names:
        for c in settings.concurrency:
            parts: dict[str, list[Part]] = {t.run.label: [] for t in targets}
            for round_ in range(settings.rounds):
                for target in targets if round_ % 2 == 0 else targets[::-1]:
                    if name == "greet_grpc" and target.grpc_target is None:
                        continue
                    if interleaved:
                        target.resume()
                    try:
                        parts[target.run.label].append(measure_part(target, name, c, seconds))
                    finally:
                        if interleaved:
                            time.sleep(SETTLE_S)  # what the load left in flight ends first
                            target.pause()
            for target in targets:
                if parts[target.run.label]:
                    record(target.run, name, c, combine(parts[target.run.label]))
    for target in targets:
        target.run.rss_loaded = target.rss()
        if interleaved:
            target.resume()


def record(run: Run, name: str, c: int, part: Part) -> None:
    result, cpu = part.result, part.cpu
    run.rows[(name, c)] = result
    run.cpu[(name, c)] = cpu
    extra = ""
    if part.drain_s is not None:
        run.drains[c] = part.drain_s
        extra = f", drained {part.drain_s:.2f} s after the load stopped"
    bad = f", {result.errors} errors, {result.wrong} wrong" if result.errors or result.wrong else ""
    print(
        f"  {run.label:8s} {name:15s} c={c:<3d} {result.rps:9.0f} req/s, CPU/request "
        f"{cpu.server_ms:.2f} ms server + {cpu.deployment_ms:.2f} ms deployment, "
        f"machine {cpu.busy:.0%} busy{extra}{bad}",
        flush=True,
    )


def start_perdure(stack: contextlib.ExitStack, tmp: Path, processes: int, label: str) -> Target:
    """A single node with `processes` partition processes and its deployment, registered;
    both stopped (and continued first, if set aside) when `stack` closes."""
    run = Run(label)
    deployment = LocalDeployment(tmp / f"deployment-{label}.log")
    node = LocalNode(
        tmp / f"data-{label}", extra_env={"PERDURE_PARTITION_PROCESSES": str(processes)}
    )
    stack.callback(deployment.stop)
    stack.callback(node.stop)
    deployment.start()
    t0 = time.perf_counter()
    node.start()
    run.startup_s = time.perf_counter() - t0
    node.register(deployment.uri)
    time.sleep(1)
    target = Target(
        run,
        node.ingress_url,
        node.admin_url,
        (node.process.pid if node.process else -1,),
        deployment.process.pid if deployment.process else -1,
        node.grpc_target,
    )
    stack.callback(target.resume)  # a stopped process would not act on SIGTERM
    return target


def start_cluster(stack: contextlib.ExitStack, tmp: Path) -> Target:
    """Three nodes on this machine (127.0.0.1-3, one partition process each), the load sent
    to n1's ingress: every acknowledgement is a majority fsync, and n1 forwards what another
    node leads. RSS and start-up are the whole cluster's."""
    run = Run("3-nodes")
    deployment = LocalDeployment(tmp / "deployment-3-nodes.log")
    cluster = LocalCluster(tmp / "cluster")
    stack.callback(deployment.stop)
    stack.callback(cluster.stop)
    deployment.start()
    t0 = time.perf_counter()
    cluster.start()
    run.startup_s = time.perf_counter() - t0
    cluster.register(deployment.uri)
    cluster.wait_quiet()
    node = cluster.nodes[0]
    return Target(
        run,
        node.ingress_url,
        node.admin_url,
        tuple(n.process.pid for n in cluster.nodes if n.process),
        deployment.process.pid if deployment.process else -1,
        node.grpc_target,
    )


def start_restate(stack: contextlib.ExitStack, tmp: Path) -> Target:
    run = Run("restate")
    peer.install()
    restate = peer.RestatePeer(tmp / "restate")
    restate.data_dir.mkdir(parents=True, exist_ok=True)
    stack.callback(restate.stop)
    t0 = time.perf_counter()
    restate.start()
    run.startup_s = time.perf_counter() - t0  # includes the SDK start and registration
    time.sleep(1)
    server, sdk = restate.pids
    return Target(run, restate.ingress_url, None, (server,), sdk)


def alone(settings: Settings, start: Callable[[contextlib.ExitStack], Target]) -> Run:
    """A system measured by itself (its load not interleaved with another's)."""
    with contextlib.ExitStack() as stack:
        target = start(stack)
        load([target], settings)
    return target.run


def report(runs: list[Run], baseline: wrk.Result) -> None:
    ours = runs[0]
    others = runs[1:]
    head = f"{'workload':15s} {'conc':>4s} {'req/s':>8s} {'p50 ms':>7s} {'p90 ms':>7s} "
    head += f"{'p99 ms':>7s} {'err':>4s} {'wrong':>5s} {'/echo':>6s}"
    for other in others:
        head += f" | {other.label + ' req/s':>13s} {'p50':>6s} {'p99':>6s} {'ratio':>6s}"
    print()
    print(head)
    for (name, c), r in ours.rows.items():
        line = f"{name:15s} {c:4d} {r.rps:8.0f} {r.p50_ms:7.2f} {r.p90_ms:7.2f} "
        line += f"{r.p99_ms:7.2f} {r.errors:4d} {r.wrong:5d} {r.rps / (baseline.rps or 1):6.3f}"
        for other in others:
            o = other.rows.get((name, c))
            if o is not None:
                ratio = r.rps / o.rps if o.rps else float("inf")
                line += f" | {o.rps:13.0f} {o.p50_ms:6.2f} {o.p99_ms:6.2f} {ratio:6.2f}"
        print(line)
    print(
        f"{'asyncio echo':15s} {64:4d} {baseline.rps:8.0f} {baseline.p50_ms:7.2f} "
        f"{baseline.p90_ms:7.2f} {baseline.p99_ms:7.2f} {baseline.errors:4d} {baseline.wrong:5d} "
        f"{1.0:6.3f}"
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


def settings_from_env() -> Settings:
    names = os.environ.get("BENCH_WORKLOADS", ",".join(WORKLOADS)).split(",")
    unknown = sorted(set(names) - set(WORKLOADS))
    if unknown:
        raise SystemExit(f"BENCH_WORKLOADS: unknown {unknown}; known: {', '.join(WORKLOADS)}")
    return Settings(
        seconds=float(os.environ.get("BENCH_SECONDS", "5")),
        concurrency=[int(c) for c in os.environ.get("BENCH_CONCURRENCY", "1,16,64").split(",")],
        names=names,
        peer=os.environ.get("BENCH_PEER") == "restate",
        processes=[
            int(p) for p in os.environ.get("BENCH_PROCESSES", _default_processes()).split(",")
        ],
        cluster=os.environ.get("BENCH_CLUSTER") == "1",
        rounds=max(1, int(os.environ.get("BENCH_ROUNDS", "4"))),
    )


def _default_processes() -> str:
    """One partition process per core, compared with one process in the same run."""
    cores = os.cpu_count() or 1
    return f"{cores},1" if cores > 1 else "1"


def run_all(settings: Settings, tmp: Path) -> results.Document:
    """Every system, the reference, the report; the results as a document. The single nodes
    (one per entry of BENCH_PROCESSES) run side by side, interleaved; the cluster and the peer
    each by itself (stopping a Raft cluster would start elections when it is continued)."""
    with contextlib.ExitStack() as stack:
        nodes = [
            start_perdure(stack, tmp, processes, "perdure" if i == 0 else f"{processes}-proc")
            for i, processes in enumerate(settings.processes)
        ]
        load(nodes, settings)
    runs = [nodes[0].run]
    if settings.cluster:  # the ratio columns then compare the single node with 3 nodes
        runs.append(alone(settings, lambda stack: start_cluster(stack, tmp)))
    if settings.peer:
        runs.append(alone(settings, lambda stack: start_restate(stack, tmp)))
    runs += [node.run for node in nodes[1:]]  # the ratio columns compare "perdure" with these
    baseline = echo_baseline(settings.seconds, 64)
    report(runs, baseline)
    return results.document(runs, baseline, settings.as_dict())


# The processes' logs in the temporary directory (not RocksDB's *.log files next to them).
LOGS = (
    "data-*.log",
    "deployment-*.log",
    "cluster/n*.log",
    "restate/restate.log",
    "restate/sdk.log",
)


def print_log_tails(tmp: Path, lines: int = 20) -> None:
    """The end of every log of the run: the temporary directory holding them is removed."""
    for log in (found for pattern in LOGS for found in sorted(tmp.glob(pattern))):
        tail = log.read_text(errors="replace").splitlines()[-lines:]
        print(f"--- {log.relative_to(tmp)} (last {len(tail)} lines)")
        print("\n".join(tail))


def _terminate(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)  # unwinds through the `finally` that stops and cleans up


def main() -> int:
    if not wrk.available():
        print("wrk is not installed: `apt-get install -y wrk` (make bench does this)")
        return 2
    settings = settings_from_env()
    signal.signal(signal.SIGTERM, _terminate)
    tmp = Path(tempfile.mkdtemp(prefix="perdure-bench-"))
    try:
        doc = run_all(settings, tmp)
        if doc["failures"]:
            print_log_tails(tmp)
    except KeyboardInterrupt:
        print("interrupted")
        return 130
    except Exception:
        print_log_tails(tmp)
        raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"raw results: {results.write(doc).relative_to(Path.cwd())}")
    for line in doc["failures"]:
        print(f"FAILED {line}")
    return results.exit_status(doc)


if __name__ == "__main__":
    sys.exit(main())
