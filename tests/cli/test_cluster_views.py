"""`perdure cluster ...` in-process: how /cluster's JSON reads as tables, the admin URL, and
the one-line errors, against a small HTTP server with canned answers."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from cli import admin, cluster
from cli.main import main
from node.local import free_port

DOC: dict[str, Any] = {
    "cluster_name": None,
    "partition_count": 1,
    "this_node": "perdure-1",
    "nodes": [
        {
            "name": "perdure-1",
            "address": "127.0.0.1:5123",
            "pid": 4242,
            "alive": True,
            "ingress": "http://127.0.0.1:8080",
            "admin": "http://127.0.0.1:9070",
        }
    ],
    "partitions": [
        {
            "id": 0,
            "raft_group": 0,
            "leader": "perdure-1",
            "term": 2,
            "applied": 3145730,
            "committed": 3145731,
            "replicas": [
                {"node": "perdure-1", "mode": "leader", "applied": 3145730, "committed": 3145731}
            ],
        }
    ],
}


def test_status_prints_a_summary_then_the_nodes_and_partitions_tables() -> None:
    assert cluster.status_text(DOC).splitlines() == [
        "Cluster (unnamed): 1 node, 1 partition (as seen by perdure-1)",
        "",
        "Nodes",
        "NAME       ADDRESS         PID   ALIVE  INGRESS                ADMIN",
        "perdure-1  127.0.0.1:5123  4242  yes    http://127.0.0.1:8080  http://127.0.0.1:9070",
        "",
        "Partitions",
        "ID  RAFT-GROUP  LEADER     TERM  NODE       MODE    APPLIED  COMMITTED",
        "0   0           perdure-1  2     perdure-1  leader  3145730  3145731",
    ]


def test_partitions_have_one_row_per_replica_and_unknown_figures_read_as_dash() -> None:
    doc = {
        "cluster_name": "prod",
        "partition_count": 24,
        "nodes": [
            {"name": "n1", "address": "10.0.0.1:5123", "pid": 7, "alive": True},
            {"name": "n2", "address": "10.0.0.2:5123", "pid": None, "alive": False, "zone": "b"},
        ],
        "partitions": [
            {
                "id": 0,
                "raft_group": 0,
                "leader": "n1",
                "term": 3,
                "replicas": [
                    {"node": "n1", "mode": "leader", "applied": 10, "committed": 12},
                    {"node": "n2", "mode": "follower", "applied": None, "committed": None},
                ],
            },
            {"id": 1, "raft_group": 1, "leader": None, "term": 0, "applied": 5, "committed": 5},
        ],
    }
    assert cluster.partitions_table(doc).splitlines() == [
        "ID  RAFT-GROUP  LEADER  TERM  NODE  MODE      APPLIED  COMMITTED",
        "0   0           n1      3     n1    leader    10       12",
        "0   0           n1      3     n2    follower  -        -",
        "1   1           -       0     -     -         5        5",
    ]
    assert cluster.nodes_table(doc).splitlines() == [
        "NAME  ADDRESS        PID  ALIVE  INGRESS  ADMIN",
        "n1    10.0.0.1:5123  7    yes    -        -",
        "n2    10.0.0.2:5123  -    no     -        -",
    ]
    assert cluster.status_text(doc).splitlines()[0] == "Cluster prod: 2 nodes, 24 partitions"


def test_an_answer_without_the_lists_is_a_bad_answer() -> None:
    with pytest.raises(admin.BadAnswer, match="no 'nodes' list"):
        cluster.nodes_table({"message": "hello"})


@pytest.mark.parametrize(
    ("flag", "env", "url"),
    [
        (None, {}, "http://127.0.0.1:9070"),
        (None, {"PERDURE_ADMIN_URL": "http://node-2:9070/"}, "http://node-2:9070"),
        ("node-3:9070", {"PERDURE_ADMIN_URL": "http://node-2:9070"}, "http://node-3:9070"),
    ],
)
def test_the_admin_url_comes_from_the_flag_then_the_environment(
    flag: str | None, env: dict[str, str], url: str
) -> None:
    assert admin.admin_url(flag, env) == url


class _Canned(BaseHTTPRequestHandler):
    answers: dict[str, tuple[int, bytes]] = {}

    def do_GET(self) -> None:
        status, body = self.answers.get(self.path, (404, b'{"message": "not found"}'))
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def canned() -> Iterator[tuple[str, dict[str, tuple[int, bytes]]]]:
    """A local HTTP server answering GET paths from a dict; yields (its URL, the dict)."""
    answers: dict[str, tuple[int, bytes]] = {}
    handler = type("Handler", (_Canned,), {"answers": answers})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, name="canned-admin", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", answers
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def test_commands_print_tables_or_json(
    canned: tuple[str, dict[str, tuple[int, bytes]]], capsys: pytest.CaptureFixture[str]
) -> None:
    url, answers = canned
    answers["/cluster"] = (200, json.dumps(DOC).encode())
    assert main(["cluster", "status", "--admin-url", url]) == 0
    assert capsys.readouterr().out == cluster.status_text(DOC) + "\n"
    assert main(["--admin-url", url, "cluster", "nodes"]) == 0
    assert capsys.readouterr().out == cluster.nodes_table(DOC) + "\n"
    assert main(["cluster", "partitions", "--admin-url", url]) == 0
    assert capsys.readouterr().out == cluster.partitions_table(DOC) + "\n"
    assert main(["cluster", "status", "--json", "--admin-url", url]) == 0
    assert json.loads(capsys.readouterr().out) == DOC
    assert main(["--json", "cluster", "nodes", "--admin-url", url]) == 0
    assert json.loads(capsys.readouterr().out) == {"nodes": DOC["nodes"]}


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        ((404, b'{"message": "not found", "restate_code": null}'), "answered 404: not found"),
        ((200, b"<html>hi</html>"), "is not JSON"),
        ((200, b"[1, 2]"), "not an object"),
        ((200, b'{"nodes": 3}'), "no 'nodes' list"),
    ],
)
def test_a_node_that_answers_wrongly_is_one_line_and_exit_1(
    canned: tuple[str, dict[str, tuple[int, bytes]]],
    capsys: pytest.CaptureFixture[str],
    answer: tuple[int, bytes],
    message: str,
) -> None:
    url, answers = canned
    answers["/cluster"] = answer
    assert main(["cluster", "status", "--admin-url", url]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith("perdure: ") and err.endswith("\n") and err.count("\n") == 1
    assert message in err


def test_an_unreachable_node_is_one_line_and_exit_1(capsys: pytest.CaptureFixture[str]) -> None:
    url = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    assert main(["cluster", "status", "--admin-url", url]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert err == (
        f"perdure: cannot reach the admin API at {url} (connection refused); is the node "
        "running? Point --admin-url or PERDURE_ADMIN_URL at its admin port (9070 by default)\n"
    )


def test_a_missing_command_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["cluster"])
    assert exit_.value.code == 2
    assert "status" in capsys.readouterr().err
