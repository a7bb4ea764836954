"""Run a node and a service deployment as child processes on 127.0.0.1.

Used by `make run`, the end-to-end tests and the benchmark. Every process started here is
stopped by PID (SIGTERM, then SIGKILL after a bound) by the one that started it.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


# Below Linux's ephemeral range (32768-60999 by default): a port the kernel hands out for
# bind(0) is also handed out as the source port of outgoing connections, so a port found free
# that way can be taken by some client's connection before the server binds it.
PORTS = range(20000, 32000)


def free_port() -> int:
    return free_ports(1)


_HANDED_OUT: set[int] = set()  # ports this process gave out: free now, but someone's soon


def free_ports(n: int) -> int:
    """The first of `n` consecutive free ports (a node's partition processes use port + g),
    never one this process handed out before (a port picked for one server but not bound yet
    is still free, and picking it again for another would make the second fail to bind)."""
    for _ in range(1000):
        first = random.randrange(PORTS.start, PORTS.stop - n)
        ports = range(first, first + n)
        if _HANDED_OUT.intersection(ports):
            continue
        try:
            for port in ports:
                with socket.socket() as s:
                    s.bind(("127.0.0.1", port))
        except OSError:
            continue
        _HANDED_OUT.update(ports)
        return first
    raise RuntimeError(f"found no {n} consecutive free ports")


def http(
    method: str,
    url: str,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
    timeout: float = 30.0,
) -> tuple[int, dict[str, str], bytes]:
    """One HTTP request with the standard library: (status, lower-cased headers, body)."""
    req = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return resp.status, {k.lower(): v for k, v in resp.headers.items()}, resp.read()
    except urllib.error.HTTPError as err:
        return err.code, {k.lower(): v for k, v in err.headers.items()}, err.read()


def wait_until(predicate: object, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if predicate():  # type: ignore[operator]
                return
        except OSError:
            pass
        time.sleep(0.05)
    raise TimeoutError(f"timed out after {timeout} s waiting for {what}")


@dataclass
class Process:
    name: str
    args: list[str]
    env: dict[str, str]
    log_path: Path
    proc: subprocess.Popen[bytes] | None = None
    _terminated: bool = field(default=False, init=False, repr=False)

    def start(self) -> None:
        self._terminated = False
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        out = open(self.log_path, "ab")  # noqa: SIM115 - owned by the child for its lifetime
        self.proc = subprocess.Popen(
            self.args, env=self.env, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT
        )
        out.close()

    @property
    def pid(self) -> int:
        return self.proc.pid if self.proc else -1

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def kill9(self) -> None:
        if self.proc is not None and self.alive():
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)

    def terminate(self) -> None:
        """Ask it to stop (SIGTERM, once), without waiting."""
        if self.proc is not None and self.alive() and not self._terminated:
            self._terminated = True
            self.proc.send_signal(signal.SIGTERM)

    def stop(self, timeout: float = 10.0) -> None:
        if self.proc is None or not self.alive():
            return
        self.terminate()
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill9()

    def output(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def require_alive(self) -> None:
        """Raise (with the tail of its output) if the process has exited."""
        if not self.alive():
            raise RuntimeError(f"{self.name} exited:\n" + self.output()[-4000:])


class _Managed:
    """Stop and kill for the dataclasses below, which each own one `Process`."""

    process: Process | None

    def stop(self) -> None:
        if self.process is not None:
            self.process.stop()

    def kill9(self) -> None:
        if self.process is not None:
            self.process.kill9()


def until_interrupted() -> threading.Event:
    """An event set by Ctrl-C (SIGINT) or SIGTERM, instead of KeyboardInterrupt: a script that
    runs processes until then (`make run`, `make cluster`) then stops them and exits 0.

    In a terminal, the script first makes its own process group the terminal's foreground
    group (as a shell does for a job), so Ctrl-C reaches it and the processes it starts, but not
    `make` above it, which would otherwise exit with "Interrupt" (130) however cleanly the
    script stops; the terminal goes back to the previous group when the script exits."""
    interrupted = threading.Event()

    def handle(signum: int, frame: object) -> None:
        interrupted.set()

    signal.signal(signal.SIGINT, handle)
    signal.signal(signal.SIGTERM, handle)
    _take_the_terminal()
    return interrupted


def _take_the_terminal() -> None:
    try:
        tty = os.open("/dev/tty", os.O_RDWR)
    except OSError:
        return  # no controlling terminal (tests, CI): nothing to do
    try:
        previous = os.tcgetpgrp(tty)
        if previous != os.getpgrp():
            return  # not in the foreground: leave the terminal alone
        os.setpgid(0, 0)
        signal.signal(signal.SIGTTOU, signal.SIG_IGN)  # may change it from our new group
        os.tcsetpgrp(tty, os.getpgrp())
    except OSError:
        os.close(tty)
        return

    def give_back() -> None:
        with contextlib.suppress(OSError):
            os.tcsetpgrp(tty, previous)
        os.close(tty)

    atexit.register(give_back)


def wait_for_exit(processes: list[Process], interrupted: threading.Event) -> bool:
    """Until `interrupted` (False) or one of `processes` exits by itself (True). Ctrl-C in a
    terminal reaches the children too, which may exit a moment before this process sees its own
    SIGINT: an exit within GRACE_S of an interruption counts as the interruption."""
    while not interrupted.wait(0.1):
        if not all(p.alive() for p in processes):
            return not interrupted.wait(GRACE_S)
    return False


GRACE_S = 0.5


def stop_all(managed: list[_Managed]) -> None:
    """Stop them all at once (SIGTERM to each, then wait), not one after the other."""
    for m in managed:
        if m.process is not None:
            m.process.terminate()
    for m in managed:
        m.stop()


def _env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), str(ROOT / "sdk"), env.get("PYTHONPATH", "")])
    env.update(extra or {})
    return env


@dataclass
class LocalNode(_Managed):
    data_dir: Path
    ingress_port: int = field(default_factory=free_port)
    admin_port: int = field(default_factory=free_port)
    grpc_port: int = field(default_factory=free_port)  # the gRPC ingress; -1: none
    raft_port: int = 0  # 0: consecutive free ports, one per partition process
    internal_port: int = 0
    extra_env: dict[str, str] = field(default_factory=dict)
    process: Process | None = None
    host: str = "127.0.0.1"  # where its ingress and admin API listen
    netns: str | None = None  # run it inside this network namespace (`ip netns exec`)

    def __post_init__(self) -> None:
        processes = int(
            self.extra_env.get(
                "PERDURE_PARTITION_PROCESSES", os.environ.get("PERDURE_PARTITION_PROCESSES", "1")
            )
        )
        self.raft_port = self.raft_port or free_ports(processes)
        self.internal_port = self.internal_port or free_ports(processes)

    @property
    def ingress_url(self) -> str:
        return f"http://{self.host}:{self.ingress_port}"

    @property
    def admin_url(self) -> str:
        return f"http://{self.host}:{self.admin_port}"

    @property
    def grpc_target(self) -> str:
        """`host:port` of the gRPC ingress (a grpc channel's target, grpcurl's address)."""
        return f"{self.host}:{self.grpc_port}"

    def start(self, timeout: float = 30.0) -> None:
        self.launch()
        self.wait_ready(timeout)

    def launch(self) -> None:
        """Start the process without waiting for it to serve."""
        args = [
            sys.executable,
            "-m",
            "node",
            "--data-dir",
            str(self.data_dir),
            "--ingress-port",
            str(self.ingress_port),
            "--admin-port",
            str(self.admin_port),
            "--grpc-port",
            str(self.grpc_port),
            "--raft-port",
            str(self.raft_port),
            "--internal-port",
            str(self.internal_port),
            "--bind-host",
            self.host,
        ]
        if self.netns is not None:
            args = ["ip", "netns", "exec", self.netns, *args]
        self.process = Process(
            "perdure node",
            args,
            _env(self.extra_env),
            self.data_dir.parent / f"{self.data_dir.name}.log",
        )
        self.process.start()

    def wait_ready(self, timeout: float) -> None:
        def ready() -> bool:
            if self.process is not None:
                self.process.require_alive()
            status, _, _ = http("GET", self.ingress_url + "/restate/health", timeout=1)
            admin, _, _ = http("GET", self.admin_url + "/health", timeout=1)
            return status == 200 and admin == 200

        wait_until(ready, timeout, "the node's ingress and admin API to answer their health")

    def register(self, uri: str, force: bool = False) -> dict[str, object]:
        body = json.dumps({"uri": uri, "force": force}).encode()
        status, _, out = http(
            "POST",
            self.admin_url + "/deployments",
            body,
            {"content-type": "application/json"},
        )
        if status not in (200, 201):
            raise RuntimeError(f"registering {uri} failed: {status} {out!r}")
        result: dict[str, object] = json.loads(out)
        return result


@dataclass
class LocalCluster:
    """`size` nodes on this machine, each on a loopback address of its own (127.0.0.1,
    127.0.0.2, ...: Raft and fabric ports equal on every node, as on separate machines), with
    their own ingress and admin ports and a shared secret in `root/secret`."""

    root: Path
    size: int = 3
    ingress_ports: list[int] = field(default_factory=list)
    admin_ports: list[int] = field(default_factory=list)
    grpc_ports: list[int] = field(default_factory=list)
    raft_port: int = 0  # 0: free ports (one per partition process), the same on every node
    internal_port: int = 0
    extra_env: dict[str, str] = field(default_factory=dict)
    nodes: list[LocalNode] = field(default_factory=list)
    hosts: list[str] = field(default_factory=list)  # default 127.0.0.1, 127.0.0.2, ...
    netns: list[str] = field(default_factory=list)  # a network namespace per node (optional)

    def __post_init__(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        secret = self.root / "secret"
        if not secret.exists():
            secret.write_text(os.urandom(24).hex())
            secret.chmod(0o600)
        names = [f"n{i + 1}" for i in range(self.size)]
        hosts = self.hosts or [f"127.0.0.{i + 1}" for i in range(self.size)]
        members = ",".join(f"{name}={host}" for name, host in zip(names, hosts, strict=True))
        processes = int(self.extra_env.get("PERDURE_PARTITION_PROCESSES", "1"))
        raft_port = self.raft_port or free_ports(processes)
        internal_port = self.internal_port or free_ports(processes)
        ingress = self.ingress_ports or [free_port() for _ in names]
        admin = self.admin_ports or [free_port() for _ in names]
        grpc = self.grpc_ports or [free_port() for _ in names]
        for i, name in enumerate(names):
            env = {
                **self.extra_env,
                "PERDURE_CLUSTER": members,
                "PERDURE_NODE_NAME": name,
                "PERDURE_CLUSTER_SECRET_FILE": str(secret),
            }
            self.nodes.append(
                LocalNode(
                    self.root / name,
                    ingress_port=ingress[i],
                    admin_port=admin[i],
                    grpc_port=grpc[i],
                    raft_port=raft_port,
                    internal_port=internal_port,
                    extra_env=env,
                    host="127.0.0.1" if not self.hosts else hosts[i],
                    netns=self.netns[i] if self.netns else None,
                )
            )

    def new_node(self, name: str, host: str) -> LocalNode:
        """A node to add to the running cluster (not started): it joins (`cluster_join`), and
        serves once `POST /cluster/nodes` added it. It is appended to `nodes`."""
        first = self.nodes[0]
        env = {
            **first.extra_env,
            "PERDURE_CLUSTER": f"{first.extra_env['PERDURE_CLUSTER']},{name}={host}",
            "PERDURE_NODE_NAME": name,
            "PERDURE_CLUSTER_JOIN": "true",
        }
        node = LocalNode(
            self.root / name,
            raft_port=first.raft_port,
            internal_port=first.internal_port,
            extra_env=env,
            host=first.host if not self.hosts else host,
        )
        self.nodes.append(node)
        return node

    def start(self, timeout: float = 60.0) -> None:
        """Start every node (a node serves once a majority runs), wait until all serve."""
        for node in self.nodes:
            node.launch()
        for node in self.nodes:
            node.wait_ready(timeout)

    def stop(self) -> None:
        for node in self.nodes:
            node.stop()

    def wait_quiet(self, timeout: float = 30.0, still_s: float = 1.5) -> None:
        """Until every replica of every partition applied the same position and nothing new
        was applied for `still_s` (SafeTrim and leader hand-backs come within a second)."""
        last: object = None
        since = time.monotonic()
        deadline = since + timeout
        while time.monotonic() < deadline:
            try:
                view = self.status(0)["partitions"]
                positions = [sorted((r["node"], r["applied"]) for r in p["replicas"]) for p in view]
            except (OSError, RuntimeError):
                positions = None
            same = positions is not None and all(
                len(p) == len(self.nodes) and len({a for _, a in p}) == 1 for p in positions
            )
            if not same or positions != last:
                last, since = positions, time.monotonic()
            elif time.monotonic() - since >= still_s:
                return
            time.sleep(0.1)
        raise TimeoutError(f"the cluster did not go quiet within {timeout} s: {last}")

    def store_digests(self) -> dict[str, tuple[int | None, str]]:
        """Each stopped node's partition store: its applied position and digest
        (partition.store.Store.digest), by "node/group". Replicas at the same position must
        hold the same state."""
        from partition.store import Store

        digests: dict[str, tuple[int | None, str]] = {}
        for node in self.nodes:
            if node.process is not None and node.process.alive():
                raise RuntimeError("stop the nodes before reading their stores")
            for store_dir in sorted(node.data_dir.glob("**/store")):
                group = store_dir.parent.name if store_dir.parent != node.data_dir else "group-0"
                store = Store(store_dir)
                try:
                    digests[f"{node.data_dir.name}/{group}"] = (store.applied_lsn(), store.digest())
                finally:
                    store.close()
        return digests

    def register(self, uri: str, via: int = 0, force: bool = False, timeout: float = 20.0) -> None:
        """Register the deployment at `uri` through node `via`, then wait until every node
        applied it (a follower applies the registration a heartbeat or so after the leader)."""
        deployment_id = str(self.nodes[via].register(uri, force=force)["id"])

        def knows(node: LocalNode) -> bool:
            # The list, not GET /deployments/{id}: that one counts pinned invocations with a
            # query, which would start every node's query worker (~150 MB each) for nothing.
            status, _, body = http("GET", f"{node.admin_url}/deployments")
            listed = json.loads(body).get("deployments", []) if status == 200 else []
            return any(d.get("id") == deployment_id for d in listed)

        def everywhere() -> bool:
            return all(knows(node) for node in self.nodes)

        wait_until(everywhere, timeout, f"every node to know deployment {deployment_id}")

    def check_replicas_agree(self) -> None:
        """Stopped nodes' stores: replicas at the same applied position hold the same state,
        and at least a majority of each group's replicas are at the newest position."""
        digests = self.store_digests()
        by_group: dict[str, list[tuple[int | None, str]]] = {}
        for name, found in digests.items():
            by_group.setdefault(name.split("/", 1)[1], []).append(found)
        for group, replicas in by_group.items():
            for position in {p for p, _ in replicas}:
                at = {d for p, d in replicas if p == position}
                if len(at) != 1:
                    raise AssertionError(f"{group}: replicas at {position} differ: {digests}")
            newest = max(p or 0 for p, _ in replicas)
            if sum(1 for p, _ in replicas if (p or 0) == newest) * 2 <= len(replicas):
                raise AssertionError(f"{group}: no majority at the newest position: {digests}")

    def status(self, via: int = 0) -> dict[str, Any]:
        """GET /cluster from node `via`."""
        status, _, body = http("GET", self.nodes[via].admin_url + "/cluster", timeout=5)
        if status != 200:
            raise RuntimeError(f"/cluster answered {status}: {body[:200]!r}")
        result: dict[str, Any] = json.loads(body)
        return result


@dataclass
class LocalDeployment(_Managed):
    """A deployment process serving `module:app` (default: the example services)."""

    log_path: Path
    app: str = "examples.services:app"
    port: int = field(default_factory=free_port)
    extra_env: dict[str, str] = field(default_factory=dict)
    process: Process | None = None
    host: str = "127.0.0.1"

    @property
    def uri(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self, timeout: float = 30.0) -> None:
        args = [
            sys.executable,
            "-m",
            "perdure",
            "serve",
            self.app,
            "--host",
            self.host,
            "--port",
            str(self.port),
        ]
        self.process = Process("deployment", args, _env(self.extra_env), self.log_path)
        self.process.start()

        def listening() -> bool:
            if self.process is not None:
                self.process.require_alive()
            with socket.create_connection((self.host, self.port), timeout=0.5):
                return True

        wait_until(listening, timeout, f"the deployment to listen on port {self.port}")
