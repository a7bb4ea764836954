"""The README's `make run` path: the run script starts a node and the examples, registers them,
and the README's curl lines answer as documented."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

from node.local import ROOT, free_port, http, wait_until

JSON = {"content-type": "application/json"}


def test_run_script_serves_the_readme_examples(tmp_path: Path) -> None:
    ingress, admin = free_port(), free_port()
    env = dict(
        os.environ,
        PERDURE_DATA_DIR=str(tmp_path / "data"),
        PERDURE_INGRESS_PORT=str(ingress),
        PERDURE_ADMIN_PORT=str(admin),
        PERDURE_GRPC_PORT=str(free_port()),
        PERDURE_RAFT_PORT=str(free_port()),
        EXAMPLES_PORT=str(free_port()),
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "scripts.run_local"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{ingress}"
    try:

        def registered() -> bool:
            status, _, body = http("GET", f"http://127.0.0.1:{admin}/services", timeout=1)
            return status == 200 and len(json.loads(body)["services"]) == 4

        wait_until(registered, 60, "the examples to be registered")
        status, _, body = http("POST", url + "/Greeter/greet", b'"World"', JSON)
        assert (status, json.loads(body)) == (200, "Hello, World!")
        assert json.loads(http("POST", url + "/Counter/alice/add", b"5", JSON)[2]) == 5
        assert json.loads(http("POST", url + "/Counter/alice/add", b"5", JSON)[2]) == 10
        assert json.loads(http("GET", url + "/Counter/alice/get")[2]) == 10
        assert json.loads(http("POST", url + "/Steps/run3", b"1", JSON)[2]) == 7
        status, _, body = http("POST", url + "/Counter/alice/add/send", b"1", JSON)
        assert status == 202
        invocation_id = json.loads(body)["invocationId"]
        out = f"{url}/restate/invocation/{invocation_id}/output"
        wait_until(lambda: http("GET", out)[0] == 200, 20, "the send to complete")
        assert json.loads(http("GET", out)[2]) == 11
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, proc.stdout.read().decode() if proc.stdout else ""
