"""The admin API protected on a real node (issue 11): bound to its own interface, behind a
bearer token that Perdure's CLI (PERDURE_ADMIN_TOKEN) and Restate's CLI (RESTATE_AUTH_TOKEN)
send, and never reachable through the ingress."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from node.local import ROOT, LocalDeployment, LocalNode, http, wait_until
from tests.e2e.conftest import Cluster
from tests.e2e.test_web_ui import CHROMIUM_FLAGS, chromium
from tests.restate_cli.cli import RestateCli

TOKEN = "d3adb33f-admin-token"
ADMIN_HOST = "127.0.0.2"  # the ingress stays on 127.0.0.1
JSON = {"content-type": "application/json"}
BEARER = {"authorization": f"Bearer {TOKEN}"}


@pytest.fixture(scope="module")
def guarded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LocalNode, str]]:
    """A node whose admin API listens on ADMIN_HOST only and wants TOKEN; its admin URL."""
    tmp = tmp_path_factory.mktemp("guarded")
    (tmp / "token").write_text(TOKEN + "\n")
    deployment = LocalDeployment(tmp / "deployment.log")
    env = {"PERDURE_ADMIN_TOKEN_FILE": str(tmp / "token"), "PERDURE_ADMIN_BIND_HOST": ADMIN_HOST}
    node = LocalNode(tmp / "data", extra_env=env)
    admin_url = f"http://{ADMIN_HOST}:{node.admin_port}"
    try:
        deployment.start()
        node.launch()
        wait_until(
            lambda: http("GET", admin_url + "/health", timeout=1)[0] == 200,
            30,
            "the guarded node's admin health",
        )
        body = json.dumps({"uri": deployment.uri}).encode()
        status, _, out = http("POST", admin_url + "/deployments", body, {**JSON, **BEARER})
        assert status in (200, 201), out
        yield node, admin_url
    finally:
        node.stop()
        deployment.stop()


def test_admin_api_listens_on_its_own_interface_only(guarded: tuple[LocalNode, str]) -> None:
    node, admin_url = guarded
    assert http("GET", node.ingress_url + "/restate/health")[0] == 200
    with pytest.raises(OSError):
        http("GET", f"http://127.0.0.1:{node.admin_port}/health", timeout=2)
    assert http("GET", admin_url + "/health")[0] == 200


def test_without_the_token_every_admin_route_but_health_is_401(
    guarded: tuple[LocalNode, str],
) -> None:
    _, admin_url = guarded
    routes = ["GET /services", "GET /v4/deployments", "GET /metrics", "POST /query",
              "GET /cluster", "GET /version"]  # fmt: skip
    for method, path in (route.split(" ") for route in routes):
        status, headers, body = http(method, admin_url + path, b"{}", JSON)
        assert status == 401, (path, body)
        assert headers["www-authenticate"].startswith("Bearer")
        assert json.loads(body) == {"message": json.loads(body)["message"], "restate_code": None}
        status, _, body = http(method, admin_url + path, b"{}", {**JSON, **BEARER})
        assert status != 401, (path, body)


def perdure_cli(admin_url: str, token: str | None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "PERDURE_ADMIN_TOKEN"}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), str(ROOT / "sdk")])
    if token is not None:
        env["PERDURE_ADMIN_TOKEN"] = token
    return subprocess.run(
        [sys.executable, "-m", "cli", "--admin-url", admin_url, "cluster", "status", "--json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_perdure_cli_sends_the_token_from_its_environment(guarded: tuple[LocalNode, str]) -> None:
    _, admin_url = guarded
    refused = perdure_cli(admin_url, None)
    assert refused.returncode == 1
    assert "401" in refused.stderr and "PERDURE_ADMIN_TOKEN" in refused.stderr
    ok = perdure_cli(admin_url, TOKEN)
    assert ok.returncode == 0, ok.stderr
    assert json.loads(ok.stdout)["partition_count"] > 0


def test_restate_cli_works_with_restate_auth_token(
    guarded: tuple[LocalNode, str], tmp_path: Path
) -> None:
    _, admin_url = guarded
    cli = RestateCli.installed()
    home = tmp_path  # no config of the machine's user

    def restate(token: str | None) -> subprocess.CompletedProcess[str]:
        env = {"PATH": os.environ.get("PATH", ""), "HOME": str(home)}
        env.update({"RESTATE_ADMIN_URL": admin_url, "NO_COLOR": "1", "DO_NOT_TRACK": "1"})
        if token is not None:
            env["RESTATE_AUTH_TOKEN"] = token
        return subprocess.run(
            [str(cli.executable), "--yes", "services", "list"],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            stdin=subprocess.DEVNULL,
        )

    assert restate(None).returncode != 0
    listed = restate(TOKEN)
    assert listed.returncode == 0, listed.stdout + listed.stderr
    assert "Counter" in listed.stdout


def test_the_ingress_never_serves_admin_routes(cluster: Cluster) -> None:
    routes = ["GET /services", "GET /deployments", "POST /deployments", "POST /query",
              "GET /cluster", "GET /version", "GET /v4/services", "PATCH /invocations/inv_1a/kill",
              "DELETE /invocations/inv_1a", "GET /metrics", "GET /services/Counter/handlers",
              "POST /cluster/nodes", "GET /openapi", "GET /health"]  # fmt: skip
    for method, path in (route.split(" ") for route in routes):
        status, headers, body = http(method, cluster.ingress + path, b"{}", JSON)
        assert status in (400, 404, 405), (method, path, status, body)
        assert headers.get("x-restate-error-source") == "ingress", (method, path)
        assert b"restate_code" not in body


def test_the_web_ui_asks_for_the_token_and_then_works(guarded: tuple[LocalNode, str]) -> None:
    _, admin_url = guarded
    executable = chromium()
    playwright = pytest.importorskip("playwright.sync_api")
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=executable, args=CHROMIUM_FLAGS)
        try:
            page: Any = browser.new_page()
            asked: list[str] = []

            def answer(dialog: Any) -> None:
                asked.append(dialog.message)
                dialog.accept(TOKEN)

            page.on("dialog", answer)
            page.goto(admin_url + "/ui")
            page.click("nav button[data-tab=services]")
            page.wait_for_selector("#service-list tbody tr")
            assert "Counter" in page.inner_text("#service-list")
            assert asked and "token" in asked[0]
        finally:
            browser.close()
