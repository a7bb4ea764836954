"""The admin API behind a bearer token (node/admin_auth.py): every route but the health check
answers 401 in Restate's error shape without the token, or with a wrong one; the token in
`Authorization: Bearer` (what Restate's CLI sends for RESTATE_AUTH_TOKEN) opens all of them."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from ingress.http import HttpServer, HttpServerOptions
from node import config
from node.admin_api import AdminApi, admin_error
from node.admin_auth import read_token_file, with_admin_token
from tests.ingress.fakes import FakeAdmin

TOKEN = "0123456789abcdef-token"

ROUTES = [
    ("GET", "/version"),
    ("GET", "/cluster"),
    ("POST", "/cluster/nodes"),
    ("DELETE", "/cluster/nodes/perdure-2"),
    ("POST", "/cluster/partitions/0/leader"),
    ("POST", "/query"),
    ("GET", "/deployments"),
    ("POST", "/deployments"),
    ("GET", "/deployments/dp_1abc"),
    ("DELETE", "/deployments/dp_1abc"),
    ("GET", "/services"),
    ("GET", "/services/Counter"),
    ("PATCH", "/services/Counter"),
    ("POST", "/services/Counter/state"),
    ("GET", "/services/Counter/handlers"),
    ("GET", "/services/Counter/handlers/add"),
    ("PATCH", "/invocations/inv_1abc/cancel"),
    ("PATCH", "/invocations/inv_1abc/kill"),
    ("PATCH", "/invocations/inv_1abc/purge"),
    ("DELETE", "/invocations/inv_1abc"),
    ("GET", "/v4/services"),
    ("GET", "/v2/deployments"),
    ("GET", "/metrics"),
    ("GET", "/openapi"),
    ("GET", "/nope"),
    ("GET", "/health/../services"),
    ("GET", "/healthz"),
    ("GET", "/ui/../services"),
    ("GET", "/ui/x"),
    ("GET", "/uix"),
]


@pytest.fixture
async def admin() -> AsyncIterator[httpx.AsyncClient]:
    server = HttpServer(
        with_admin_token(AdminApi(FakeAdmin(), version="1.2.3"), TOKEN),
        HttpServerOptions(host="127.0.0.1", name="admin"),
        error_response=admin_error,
    )
    port = await server.start()
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
        yield client
    await server.close()


async def call(
    client: httpx.AsyncClient, method: str, path: str, authorization: str | None
) -> httpx.Response:
    headers = {b"authorization": authorization.encode()} if authorization is not None else {}
    return await client.request(method, path, headers=headers, content=b"{}")


def assert_unauthorized(response: httpx.Response) -> None:
    assert response.status_code == 401, response.text
    assert response.headers["content-type"] == "application/json"
    assert response.headers["www-authenticate"].startswith("Bearer")
    body = response.json()
    assert set(body) == {"message", "restate_code"} and body["restate_code"] is None
    assert TOKEN not in response.text


@pytest.mark.parametrize(
    "authorization",
    [None, "", "Bearer", "Bearer wrong", f"Bearer {TOKEN}x", f"Basic {TOKEN}", TOKEN, "Bearer é"],
)
async def test_every_route_but_health_is_401_without_the_token(
    admin: httpx.AsyncClient, authorization: str | None
) -> None:
    for method, path in ROUTES:
        assert_unauthorized(await call(admin, method, path, authorization))


@pytest.mark.parametrize("scheme", ["Bearer", "bearer", "BEARER"])
async def test_the_token_as_a_bearer_opens_every_route(
    admin: httpx.AsyncClient, scheme: str
) -> None:
    for method, path in ROUTES:
        response = await call(admin, method, path, f"{scheme} {TOKEN}")
        assert response.status_code != 401, (method, path, response.text)


@pytest.mark.parametrize(
    "path", ["/health", "/health/", "/v2/health", "/v4/health", "/ui", "/ui/", "/ui/app.js"]
)
async def test_health_and_the_web_uis_files_need_no_token(
    admin: httpx.AsyncClient, path: str
) -> None:
    assert (await call(admin, "GET", path, None)).status_code == 200


def test_the_token_file_is_read_trimmed(tmp_path: Path) -> None:
    path = tmp_path / "token"
    path.write_text(f"  {TOKEN}\n")
    assert read_token_file(str(path)) == TOKEN
    assert read_token_file("") is None


@pytest.mark.parametrize("content", ["", "\n", "two words"])
def test_an_unusable_token_file_stops_the_node_at_start(tmp_path: Path, content: str) -> None:
    path = tmp_path / "token"
    path.write_text(content)
    with pytest.raises(config.Error, match="admin_token_file"):
        config.load(["--admin-token-file", str(path)], env={})
    with pytest.raises(config.Error, match="admin_token_file"):
        config.load(["--admin-token-file", str(tmp_path / "missing")], env={})
