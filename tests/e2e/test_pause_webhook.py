"""An invocation that exhausts its retries pauses: the leader POSTs it to the pause webhook
(retried until the webhook takes it, once per pause, also across a kill -9 of the node) and
sys_invocation shows it paused with its last failure."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from node.local import LocalNode, http, wait_until
from tests.e2e.conftest import Cluster, running_cluster
from tests.e2e.helpers import query_rows

JSON = {"content-type": "application/json"}


class Webhook:
    """A small HTTP server that refuses the first `refuse` posts with 503, then takes them."""

    def __init__(self, refuse: int) -> None:
        self.refuse = refuse
        self.posts: list[dict[str, Any]] = []  # every POST seen, refused ones included
        self.taken: list[dict[str, Any]] = []
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["content-length"])))
                hook.posts.append(body)
                status = 503 if len(hook.posts) <= hook.refuse else 200
                if status == 200:
                    hook.taken.append(body)
                self.send_response(status)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/paused"


@pytest.fixture
def hooked(tmp_path: Path) -> Iterator[tuple[Cluster, Webhook]]:
    webhook = Webhook(refuse=2)
    webhook.thread.start()
    env = {
        "PERDURE_PAUSE_WEBHOOK_URL": webhook.url,
        "PERDURE_DEFAULT_RETRY_MAX_ATTEMPTS": "2",
        "PERDURE_DEFAULT_RETRY_INITIAL_INTERVAL_MS": "50",
    }
    try:
        with running_cluster(tmp_path, "tests.restate_cli.services:app", node_env=env) as c:
            yield c, webhook
    finally:
        webhook.server.shutdown()
        webhook.server.server_close()


def query(c: Cluster, sql: str) -> list[dict[str, Any]]:
    return query_rows(c.node.admin_url, sql)


def test_a_paused_invocation_is_pushed_to_the_webhook_once_per_pause(
    hooked: tuple[Cluster, Webhook],
) -> None:
    c, webhook = hooked
    status, _, out = http("POST", c.ingress + "/Flaky/fail/send", b'"boom"', JSON)
    assert status == 202, out
    invocation_id = json.loads(out)["invocationId"]
    wait_until(lambda: webhook.taken, 30, "the webhook to take the pause")
    (note,) = webhook.taken
    assert note["invocation_id"] == invocation_id
    assert (note["target"], note["status"], note["key"]) == ("Flaky/fail", "paused", None)
    assert "flaky failure: boom" in note["last_failure"]["message"]
    assert note["last_failure"]["code"] == 500
    assert note["paused_at"].endswith("Z")
    assert len(webhook.posts) == 3  # refused twice, retried with backoff, then taken
    (row,) = query(
        c,
        "SELECT status, last_failure, last_failure_error_code FROM sys_invocation "
        f"WHERE id = '{invocation_id}'",
    )
    assert row["status"] == "paused"
    assert "flaky failure: boom" in row["last_failure"]
    assert row["last_failure_error_code"] == "500"

    # resumed, it fails its attempts again and pauses again: one more notification
    status, _, out = http("PATCH", f"{c.node.admin_url}/invocations/{invocation_id}/resume")
    assert status == 200, out
    wait_until(lambda: len(webhook.taken) == 2, 30, "the second pause to be pushed")
    assert webhook.taken[1]["invocation_id"] == invocation_id
    metrics = http("GET", c.node.admin_url + "/metrics")[2].decode()
    assert "perdure_invoker_pauses_total 2.0" in metrics
    assert len(webhook.taken) == 2


def test_a_pause_the_webhook_has_not_taken_is_pushed_again_after_a_kill_9(
    hooked: tuple[Cluster, Webhook],
) -> None:
    c, webhook = hooked
    webhook.refuse = 10**9  # down, as far as the node can tell
    status, _, out = http("POST", c.ingress + "/Flaky/fail/send", b'"lost?"', JSON)
    assert status == 202, out
    invocation_id = json.loads(out)["invocationId"]
    wait_until(lambda: webhook.posts, 30, "the node to try the webhook")
    c.node.kill9()
    webhook.refuse = 0  # back up, while the node is down
    c.node.start()
    wait_until(lambda: webhook.taken, 30, "the restarted node to push the pause")
    assert [t["invocation_id"] for t in webhook.taken] == [invocation_id]
    # Taken, its notice was dropped through the log: another restart does not push it again.
    restart(c.node)
    wait_until(lambda: query(c, "SELECT count(*) AS n FROM sys_invocation")[0]["n"] == 1, 10, "")
    posts = len(webhook.posts)
    status, _, out = http("POST", c.ingress + "/Flaky/fail/send", b'"second"', JSON)
    assert status == 202, out
    wait_until(lambda: len(webhook.taken) == 2, 30, "the next pause to be pushed")
    assert len(webhook.posts) == posts + 1  # only the new pause: the first was not pushed again
    assert webhook.taken[1]["invocation_id"] != invocation_id


def restart(node: LocalNode) -> None:
    node.stop()
    node.start()
