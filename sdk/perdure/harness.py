"""Test harness (restate-sdk names): a real Perdure node, no Docker.

``create_test_harness(app)`` starts a Perdure node as a subprocess (the ``perdure-server``
command, or the one ``PERDURE_SERVER`` names) on free ports with its data in a temporary
directory, serves ``app`` over gRPC in this process (on the current event loop; the deprecated
synchronous ``test_harness`` serves it from a background thread with its own loop), registers it
with the node's admin API, waits for the ingress to be healthy and yields the URLs and a typed
client. On exit it stops exactly what it started: the node by its PID, the gRPC server, the
temporary directory.

``restate_image`` is accepted for compatibility and ignored. ``always_replay=True`` serves the app
in always-replay mode (every step under a fresh replay); ``disable_retries=True`` starts the node
with one attempt per invocation and ``kill`` after it.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

from perdure.client import create_client
from perdure.client_types import RestateClient
from perdure.endpoint import App
from perdure.entry_codec import JournalValueCodec
from perdure.server import start_server

__all__ = [
    "HarnessEnvironment",
    "RestateContainer",
    "RestateTestHarness",
    "TestConfiguration",
    "create_test_harness",
    "test_harness",
]

DEFAULT_IMAGE = "docker.io/restatedev/restate:latest"
START_TIMEOUT_S = 30.0
SERVER_COMMAND = "perdure-server"
SERVER_MISSING = (
    "the Perdure test harness runs a real Perdure node: the `perdure-server` command was not "
    "found next to this Python nor on PATH; install it (`pip install perdure-server`) or set "
    "PERDURE_SERVER to the command that starts one"
)


@dataclass
class HarnessEnvironment:
    """What a running harness exposes."""

    ingress_url: str
    admin_api_url: str
    client: RestateClient


@dataclass
class TestConfiguration:
    """Options of the harness."""

    __test__ = False

    follow_logs: bool = False
    restate_image: str = DEFAULT_IMAGE
    always_replay: bool = False
    disable_retries: bool = False


class RestateContainer:
    """restate-sdk's container wrapper; Perdure runs its node as a plain process instead."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        raise NotImplementedError(
            "Perdure needs no container: use create_test_harness(app), which starts a node process"
        )


# ---------------------------------------------------------------------------- the node process


_PORTS = range(20000, 32000)  # below Linux's ephemeral range (32768+): see _free_port
_handed_out: set[int] = set()


def _free_port() -> int:
    """A port free now, below the ephemeral range and never handed out before by this process:
    a port from bind(0) can become some outgoing connection's source port before the node
    binds it, and two picks before any bind can be the same."""
    for _ in range(1000):
        port = random.randrange(_PORTS.start, _PORTS.stop)
        if port in _handed_out:
            continue
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
        _handed_out.add(port)
        return port
    raise RuntimeError("found no free port")


def _server_command() -> list[str]:
    """The command that starts a node: PERDURE_SERVER (split on spaces), else `perdure-server`
    installed next to this interpreter (a venv not on PATH), else on PATH. The SDK never imports
    the server: they meet only through this command and the node's HTTP and gRPC ports."""
    configured = os.environ.get("PERDURE_SERVER", "").split()
    if configured:
        return configured
    beside = Path(sys.executable).parent / SERVER_COMMAND
    if beside.exists():
        return [str(beside)]
    found = shutil.which(SERVER_COMMAND)
    if found is None:
        raise FileNotFoundError(SERVER_MISSING)
    return [found]


def _http(method: str, url: str, body: Any = None) -> tuple[int, bytes]:
    data = None if body is None else json.dumps(body).encode()
    headers = {} if body is None else {"content-type": "application/json"}
    request = urllib.request.Request(url, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return int(response.status), bytes(response.read())
    except urllib.error.HTTPError as err:
        return int(err.code), bytes(err.read())


class _Node:
    """One node process on free ports, its data in ``workdir``."""

    def __init__(self, workdir: Path, follow_logs: bool, disable_retries: bool) -> None:
        self.workdir = workdir
        self.follow_logs = follow_logs
        self.disable_retries = disable_retries
        self.ingress_url = ""
        self.admin_url = ""
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def log_path(self) -> Path:
        return self.workdir / "node.log"

    def start(self) -> None:
        env = dict(os.environ)
        env["PERDURE_FSYNC"] = "false"
        if self.disable_retries:
            env["PERDURE_DEFAULT_RETRY_MAX_ATTEMPTS"] = "1"
            env["PERDURE_DEFAULT_RETRY_ON_MAX_ATTEMPTS"] = "kill"
        ingress, admin, raft = _free_port(), _free_port(), _free_port()
        args = [*_server_command(), "--data-dir", str(self.workdir / "data")]
        args += ["--ingress-port", str(ingress), "--admin-port", str(admin)]
        args += ["--raft-port", str(raft)]
        env["PERDURE_GRPC_PORT"] = str(_free_port())  # its gRPC ingress, off the default 9090
        self.ingress_url = f"http://127.0.0.1:{ingress}"
        self.admin_url = f"http://127.0.0.1:{admin}"
        if self.follow_logs:
            self._proc = subprocess.Popen(args, env=env, cwd=self.workdir)
        else:
            with open(self.log_path, "wb") as log:
                self._proc = subprocess.Popen(
                    args, env=env, cwd=self.workdir, stdout=log, stderr=subprocess.STDOUT
                )

    def wait_healthy(self, timeout: float = START_TIMEOUT_S) -> None:
        self._wait(lambda: _http("GET", self.ingress_url + "/restate/health")[0] == 200, timeout)
        self._wait(lambda: _http("GET", self.admin_url + "/health")[0] == 200, timeout)

    def register(self, uri: str) -> None:
        status, body = _http("POST", self.admin_url + "/deployments", {"uri": uri})
        if status not in (200, 201):
            raise RuntimeError(
                f"the Perdure node refused to register the deployment {uri}: HTTP {status} "
                f"{body.decode(errors='replace')}{self._log_tail()}"
            )

    def _wait(self, ready: Callable[[], bool], timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while True:
            if self._proc is None or self._proc.poll() is not None:
                raise RuntimeError("the Perdure node exited while starting" + self._log_tail())
            try:
                if ready():
                    return
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError(f"the Perdure node was not ready within {timeout} s")
            time.sleep(0.05)

    def _log_tail(self) -> str:
        if self.follow_logs or not self.log_path.exists():
            return ""
        return "\n--- node log ---\n" + self.log_path.read_text(errors="replace")[-4000:]

    def stop(self, timeout: float = 10.0) -> None:
        proc, self._proc = self._proc, None
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout)


# ---------------------------------------------------------------------------- async harness


@asynccontextmanager
async def create_test_harness(
    app: App,
    follow_logs: bool = False,
    restate_image: str = DEFAULT_IMAGE,
    always_replay: bool = False,
    disable_retries: bool = False,
    journal_value_codec: JournalValueCodec | None = None,
) -> AsyncIterator[HarnessEnvironment]:
    """Start a Perdure node with ``app`` registered; yield its URLs and a typed client."""
    _server_command()  # fail before creating anything when there is no server to run
    workdir = Path(tempfile.mkdtemp(prefix="perdure-harness-"))
    node = _Node(workdir, follow_logs, disable_retries)
    server: Any = None
    try:
        node.start()
        server, port = await start_server(app, "127.0.0.1", 0, always_replay)
        await asyncio.to_thread(node.wait_healthy)
        await asyncio.to_thread(node.register, f"http://127.0.0.1:{port}")
        async with create_client(node.ingress_url, journal_value_codec=journal_value_codec) as c:
            yield HarnessEnvironment(node.ingress_url, node.admin_url, c)
    finally:
        # The node first (off the loop: this loop serves the deployment it may still talk to).
        await asyncio.to_thread(node.stop)
        if server is not None:
            await server.stop(1.0)
        shutil.rmtree(workdir, ignore_errors=True)


# ---------------------------------------------------------------------------- sync harness


class _BackgroundServer:
    """Serves an app over gRPC from a thread with its own event loop."""

    def __init__(self, app: App, always_replay: bool) -> None:
        self._app = app
        self._always_replay = always_replay
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="perdure-harness-deployment", daemon=True
        )
        self._server: Any = None
        self.port = 0

    def start(self) -> None:
        self._thread.start()
        started = start_server(self._app, "127.0.0.1", 0, self._always_replay)
        future = asyncio.run_coroutine_threadsafe(started, self._loop)
        self._server, self.port = future.result(START_TIMEOUT_S)

    def stop(self) -> None:
        if self._server is not None:
            stopping = asyncio.run_coroutine_threadsafe(self._server.stop(1.0), self._loop)
            stopping.result(10)
            self._server = None
        if self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)
        if not self._loop.is_running():
            self._loop.close()


class RestateTestHarness:
    """Synchronous harness (deprecated in restate-sdk): ``start()``/``stop()`` or ``with``."""

    __test__ = False

    def __init__(self, app: App, config: TestConfiguration | None = None) -> None:
        self.app = app
        self.config = config or TestConfiguration()
        self.ingress_url = ""
        self.admin_api_url = ""
        self._workdir: Path | None = None
        self._node: _Node | None = None
        self._deployment: _BackgroundServer | None = None

    def start(self) -> None:
        _server_command()
        self._workdir = Path(tempfile.mkdtemp(prefix="perdure-harness-"))
        self._node = _Node(self._workdir, self.config.follow_logs, self.config.disable_retries)
        self._deployment = _BackgroundServer(self.app, self.config.always_replay)
        try:
            self._node.start()
            self._deployment.start()
            self._node.wait_healthy()
            self._node.register(f"http://127.0.0.1:{self._deployment.port}")
        except BaseException:
            self.stop()
            raise
        self.ingress_url = self._node.ingress_url
        self.admin_api_url = self._node.admin_url

    def stop(self) -> None:
        if self._node is not None:
            self._node.stop()
            self._node = None
        if self._deployment is not None:
            self._deployment.stop()
            self._deployment = None
        if self._workdir is not None:
            shutil.rmtree(self._workdir, ignore_errors=True)
            self._workdir = None

    def ingress_client(self) -> Any:
        """An ``httpx.Client`` for the ingress (needs httpx)."""
        if not self.ingress_url:
            raise RuntimeError("the harness is not started: call start() or use it in `with`")
        import httpx

        return httpx.Client(base_url=self.ingress_url)

    def __enter__(self) -> RestateTestHarness:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def test_harness(
    app: App,
    follow_logs: bool = False,
    restate_image: str = DEFAULT_IMAGE,
    always_replay: bool = False,
    disable_retries: bool = False,
) -> RestateTestHarness:
    """Synchronous variant of ``create_test_harness`` (deprecated in restate-sdk)."""
    config = TestConfiguration(follow_logs, restate_image, always_replay, disable_retries)
    return RestateTestHarness(app, config)


test_harness.__test__ = False  # type: ignore[attr-defined]
