"""The official Restate server + Python SDK, serving the very same example services, as the
side-by-side peer of `make bench` (BENCH_PEER=restate).

restate-server comes from npm (@restatedev/restate-server), restate-sdk and hypercorn from PyPI,
both installed under bench/.peer (not part of the project's dependencies). The example module is
loaded with its one line `import perdure as restate` changed to `import restate`: the
compatibility promise of the SDK, exercised on every peer run.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from node.local import ROOT, Process, free_port, http, wait_until

PEER_DIR = ROOT / "bench" / ".peer"
RESTATE_VERSION = "1.7.12"
SDK_VERSION = "1.2.0"
SERVER_BIN = PEER_DIR / "node_modules/@restatedev/restate-server-linux-x64/bin/restate-server"
VENV_PY = PEER_DIR / "venv/bin/python"

SERVE = """
import asyncio, sys
import hypercorn.asyncio, hypercorn.config
sys.path.insert(0, {dir!r})
from peer_services import app
conf = hypercorn.config.Config()
conf.bind = ["127.0.0.1:{port}"]
conf.h2_max_concurrent_streams = 2147483647
conf.keep_alive_max_requests = 2147483647
conf.keep_alive_timeout = 2147483647
asyncio.run(hypercorn.asyncio.serve(app, conf))
"""


def install() -> None:
    """Install the peer under bench/.peer if it is not there yet."""
    PEER_DIR.mkdir(parents=True, exist_ok=True)
    if not SERVER_BIN.exists():
        if shutil.which("npm") is None:
            raise RuntimeError("npm is needed to install the Restate peer")
        subprocess.run(
            ["npm", "install", "--silent", f"@restatedev/restate-server@{RESTATE_VERSION}"],
            cwd=PEER_DIR,
            check=True,
        )
    if not VENV_PY.exists():
        subprocess.run([sys.executable, "-m", "venv", str(PEER_DIR / "venv")], check=True)
        subprocess.run(
            [
                str(VENV_PY),
                "-m",
                "pip",
                "install",
                "-q",
                f"restate-sdk=={SDK_VERSION}",
                "hypercorn",
            ],
            check=True,
        )
    source = (ROOT / "examples" / "services.py").read_text()
    ported = source.replace("import perdure as restate\n", "import restate\n").replace(
        "from perdure import", "from restate import"
    )
    (PEER_DIR / "peer_services.py").write_text(ported)


@dataclass
class RestatePeer:
    data_dir: Path
    ingress_port: int = 0
    admin_port: int = 0
    server: Process | None = None
    sdk: Process | None = None

    @property
    def ingress_url(self) -> str:
        return f"http://127.0.0.1:{self.ingress_port}"

    @property
    def pids(self) -> tuple[int, int]:
        return (self.server.pid if self.server else -1, self.sdk.pid if self.sdk else -1)

    def start(self) -> None:
        self.ingress_port, self.admin_port = free_port(), free_port()
        fabric, sdk_port = free_port(), free_port()
        env = dict(
            os.environ,
            RESTATE_BASE_DIR=str(self.data_dir),
            RESTATE_NODE_NAME="bench",
            RESTATE_INGRESS__BIND_ADDRESS=f"127.0.0.1:{self.ingress_port}",
            RESTATE_ADMIN__BIND_ADDRESS=f"127.0.0.1:{self.admin_port}",
            RESTATE_BIND_ADDRESS=f"127.0.0.1:{fabric}",
            RESTATE_ADVERTISED_ADDRESS=f"http://127.0.0.1:{fabric}",
            DO_NOT_TRACK="true",
        )
        self.server = Process("restate", [str(SERVER_BIN)], env, self.data_dir / "restate.log")
        self.server.start()
        code = SERVE.format(dir=str(PEER_DIR), port=sdk_port)
        self.sdk = Process(
            "restate-sdk", [str(VENV_PY), "-c", code], dict(os.environ), self.data_dir / "sdk.log"
        )
        self.sdk.start()
        admin = f"http://127.0.0.1:{self.admin_port}"
        wait_until(lambda: http("GET", admin + "/health", timeout=1)[0] == 200, 30, "restate")
        body = f'{{"uri": "http://127.0.0.1:{sdk_port}"}}'.encode()

        def registered() -> bool:
            status, _, _ = http(
                "POST", admin + "/deployments", body, {"content-type": "application/json"}
            )
            return status in (200, 201)

        wait_until(registered, 30, "the restate-sdk deployment to register")

    def stop(self) -> None:
        for proc in (self.sdk, self.server):
            if proc is not None:
                proc.stop()
