"""One simulated run: a seed in, a report out.

Phases, all on virtual time (sim/loop.py): set up the groups (register the deployment, start the
members, announce a leader per group); the storm (requests arrive and faults strike, for
`STORM_S`); the calm (faults off, everyone back) until the system is quiet (every log applied by
every member, nothing running, queued or in flight) or `SETTLE_S` passes, which is a failure
in itself; then the final checks. Replicas are compared with the shadows every `COMPARE_S`
throughout. Every random choice comes from a generator seeded with the seed and the name of
its use, so a seed replays exactly (its trace digest says so).
"""

from __future__ import annotations

import asyncio
import random
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from partition import tables
from partition.routing import Partitioning
from perdure_proto import records_pb2 as rec
from perdure_proto import storage_pb2 as st
from sim import checks, faults, services
from sim.cluster import Cluster, Member, Setup
from sim.deployment import Observed
from sim.invoker import Environment
from sim.log import GroupLog
from sim.loop import SimClock, run
from sim.network import Network
from sim.nodes import Nodes
from sim.trace import Trace
from sim.workload import Workload

PARTITIONS = 24
STORM_S = 20.0
SETTLE_S = 300.0
COMPARE_S = 1.5
SHM = Path("/dev/shm")


@dataclass(slots=True)
class Report:
    seed: int
    plan: str = ""
    digest: str = ""
    virtual_s: float = 0.0
    records: int = 0
    invocations: int = 0
    violations: list[checks.Violation] = field(default_factory=list)
    trace_tail: list[str] = field(default_factory=list)
    hostile: bool = False  # the seed's plan is faults.plan's hostile one

    def unknown(self) -> list[checks.Violation]:
        """The violations that no known bug explains."""
        return [v for v in self.violations if v.kind not in checks.KNOWN]

    def ok(self, strict: bool = False) -> bool:
        return not (self.violations if strict else self.unknown())


class Stop(Exception):
    """A failure that ends the run early (a processor crashed)."""


def simulate(
    seed: int,
    root: Path | None = None,
    whole_trace: bool = False,
    append_all: bool = False,
    hostile: bool = False,
) -> Report:
    """Run `seed` in its own temporary directory (under `root` if given, else in memory when
    /dev/shm exists: RocksDB's syncs cost nothing there); `whole_trace` keeps every event in
    `Report.trace_tail`, not only the last ones; `append_all`, `hostile`: see `faults.plan`."""
    if root is None and SHM.is_dir():
        root = SHM
    with tempfile.TemporaryDirectory(prefix=f"sim-{seed}-", dir=root) as tmp:
        plan = plan_of(seed, append_all, hostile)
        report = run(_simulate(seed, plan, Path(tmp), Trace(None if whole_trace else 200)))
        report.hostile = hostile
        return report


def plan_of(seed: int, append_all: bool = False, hostile: bool = False) -> faults.Plan:
    """The faults and the shape of the run of `seed`."""
    return faults.plan(_rng(seed, "plan"), append_all, hostile)


def _rng(seed: int, use: str) -> random.Random:
    return random.Random(f"{seed}/{use}")


async def _simulate(seed: int, plan: faults.Plan, root: Path, trace: Trace) -> Report:
    report = Report(seed, plan.describe())
    failures: list[str] = []
    stuck: list[str] = []
    observed = Observed()
    try:
        async with asyncio.TaskGroup() as tg:
            nodes = Nodes(plan.nodes)
            logs = [
                GroupLog(g, plan.nodes, nodes, _rng(seed, f"log{g}"), trace)
                for g in range(plan.groups)
            ]
            clock = SimClock()
            setup = Setup(
                Partitioning(PARTITIONS, plan.groups),
                clock,
                nodes,
                Network(logs, _rng(seed, "network"), trace, clock, tg),
                Environment(_rng(seed, "invoker"), trace, observed),
                trace,
                tg,
                root,
                plan.trim_every,
                plan.retain_entries,
                plan.retention_ms,
                failures,
                stuck,
            )
            for log in logs:
                tg.create_task(log.run(), name=f"raft-g{log.group}")
            cluster = Cluster(setup, logs, _rng(seed, "cluster"))
            shadows = [
                checks.Shadow(log, root / f"shadow{g}", setup.options(g))
                for g, log in enumerate(logs)
            ]
            try:
                await _phases(seed, plan, cluster, shadows, report)
            except Stop:
                pass
            finally:
                for member in cluster.members():
                    await member.crash()
                for shadow in shadows:
                    shadow.close()
                report.records = sum(len(log.entries) for log in logs)
            raise _Done
    except* _Done:
        pass
    report.violations[:0] = [checks.Violation("processor", f) for f in failures]
    report.violations += [checks.Violation("stop-hangs", s) for s in stuck]
    for log in logs:
        report.violations += [checks.Violation("raft", f) for f in log.raft.failures]
    report.violations += [checks.Violation("journal-mismatch", v) for v in observed.violations]
    report.virtual_s = asyncio.get_running_loop().time()
    report.digest = trace.digest()
    report.trace_tail = trace.recent()
    return report


class _Done(Exception):
    """Ends the run's task group (cancelling what is left: ghosts, restarts, requests)."""


async def _phases(
    seed: int, plan: faults.Plan, cluster: Cluster, shadows: list[checks.Shadow], report: Report
) -> None:
    await _bootstrap(cluster)
    injector = faults.Injector(cluster, plan, _rng(seed, "faults"))
    injector.storm()
    workload = Workload(cluster, _rng(seed, "workload"))
    tg = cluster.setup.tasks
    storm = [
        tg.create_task(workload.run(plan.operations, STORM_S * 0.8), name="workload"),
        tg.create_task(injector.run(STORM_S), name="faults"),
    ]
    await _watch(cluster, shadows, report, until=lambda: all(t.done() for t in storm))
    await injector.calm()
    loop = asyncio.get_running_loop()
    deadline = loop.time() + SETTLE_S
    await _watch(cluster, shadows, report, until=lambda: _quiet(cluster) or loop.time() > deadline)
    if not _quiet(cluster):
        text = f"not quiet {SETTLE_S:.0f} s after the faults stopped: {_busy(cluster)}"
        report.violations.append(checks.Violation("not-quiet", text))
    _final(cluster, shadows, cluster.setup.env.observed, report)


async def _bootstrap(cluster: Cluster) -> None:
    """Start every node; register the deployment with every group once it has a leader."""
    for member in cluster.members():
        member.start()
    register = rec.RegisterDeployment(
        deployment_id=services.DEPLOYMENT_ID, uri="sim://deployment", manifest=services.manifest()
    )
    for g in range(len(cluster.groups)):
        await cluster.append(g, rec.Envelope(register_deployment=register))


async def _watch(
    cluster: Cluster, shadows: list[checks.Shadow], report: Report, until: Callable[[], bool]
) -> None:
    """Compare replicas every COMPARE_S until `until()`; stop at the first failure."""
    while not until():
        await asyncio.sleep(COMPARE_S)
        if cluster.setup.failures or any(log.raft.failures for log in cluster.logs):
            raise Stop
        await _restart_hung(cluster)
        for group, shadow in zip(cluster.groups, shadows, strict=True):
            for member in sorted(group, key=_applied):
                if member.store is None or _applied(member) < shadow.lsn:
                    continue
                shadow.advance(_applied(member))
                if shadow.lsn == _applied(member):
                    report.violations += checks.compare(member.name, member.store, shadow)
        if report.violations:
            raise Stop


async def _restart_hung(cluster: Cluster) -> None:
    """A member whose stopped leader unit still runs (a "stop-hangs" violation) never leads
    again in a node: it is reported, and restarted, as an operator would, so that the run goes
    on to check everything else."""
    for member in cluster.members():
        if member.hung():
            cluster.setup.stuck.append(
                f"{member.name}#{member.incarnation}: its leader unit was stopped and still "
                "runs; the member is restarted"
            )
            await member.crash()
            member.start()


def _applied(member: Member) -> int:
    return -1 if member.store is None else member.store.applied_lsn() or 0


def _quiet(cluster: Cluster) -> bool:
    return not _busy(cluster)


def _busy(cluster: Cluster) -> str:
    if cluster.setup.network.ghosts_in_flight:
        return "deliveries in flight"
    for g, group in enumerate(cluster.groups):
        log = cluster.logs[g]
        if not log.idle():
            return f"appends to group {g} in flight"
        if log.raft.learners or len(log.raft.voters) < len(group):
            return f"group {g} is changing its membership"
        for member in group:
            if member.store is None or member.store.applied_lsn() != log.last_lsn:
                return (
                    f"{member.name} has not applied its log ({_applied(member)} of {log.last_lsn})"
                )
        leader = cluster.leader(g)
        if leader is None or not leader.leads or leader.store is None:
            return f"group {g} has no leader"
        if tables.outbox_after(leader.store, 0, 1):
            return f"group {g} has an outbox"
        for _, raw in leader.store.scan(b"s"):
            status = st.InvocationStatus.FromString(raw)
            if status.phase != st.COMPLETED:
                return (
                    f"group {g} has a {st.Phase.Name(status.phase)} invocation of {status.service}"
                )
    return ""


def _final(
    cluster: Cluster, shadows: list[checks.Shadow], observed: Observed, report: Report
) -> None:
    for group, shadow in zip(cluster.groups, shadows, strict=True):
        shadow.advance(shadow.log.last_lsn)
        for member in group:
            if member.store is not None:
                report.violations += checks.compare(member.name, member.store, shadow)
    data = checks.Final(shadows, observed.executions)
    report.invocations = len(data.statuses)
    report.violations += checks.final(data, cluster.logs)
