"""The README's `make run` path: the run script starts a node and the examples, registers them,
and the README's curl lines answer as documented."""

from __future__ import annotations

import json
import os
import re
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
        readme_service_runs_next_to_the_examples(tmp_path, url, f"http://127.0.0.1:{admin}")
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, proc.stdout.read().decode() if proc.stdout else ""


def readme_service_runs_next_to_the_examples(tmp_path: Path, ingress: str, admin: str) -> None:
    """The README's "Writing a service" snippet, next to `make run`: its own port and service
    name (no clash with the examples), registered and called as the README's lines say."""
    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("## Writing a service") :]
    code = section[section.index("```python\n") + 10 : section.index("```\n", 10)]
    port = int(re.findall(r"port=(\d+)", code)[0])
    assert port != 9080, "the snippet's port clashes with make run's examples"
    service = re.findall(r'VirtualObject\("(\w+)"\)', code)[0]
    services = json.loads(http("GET", admin + "/services")[2])["services"]
    assert service not in {s["name"] for s in services}, "its name clashes with an example"
    curls = section[section.index("curl localhost:9070/deployments") :].splitlines()[:2]
    assert f'"http://127.0.0.1:{port}"' in curls[0] and f"/{service}/mine/add" in curls[1]
    free = free_port()  # the README's port may be taken on this machine: only it changes
    script = tmp_path / "tally.py"
    script.write_text(code.replace(f"port={port}", f"port={free}"))
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT / "sdk"), str(ROOT / "proto")]))
    deployment = subprocess.Popen([sys.executable, str(script)], cwd=tmp_path, env=env)
    try:
        body = json.dumps({"uri": f"http://127.0.0.1:{free}"}).encode()

        def registered() -> bool:
            return http("POST", admin + "/deployments", body, JSON, timeout=5)[0] in (200, 201)

        wait_until(registered, 30, "the README's service to register")
        for expected in (3, 6):
            status, _, out = http("POST", f"{ingress}/{service}/mine/add", b"3", JSON)
            assert (status, json.loads(out)) == (200, expected)
    finally:
        deployment.terminate()
        deployment.wait(10)
