"""The README's first-run path, through real processes: HTTP ingress -> log -> RocksDB -> gRPC
deployment -> SDK and back."""

from __future__ import annotations

import json

from node.local import http, wait_until
from tests.e2e.conftest import Cluster

JSON = {"content-type": "application/json"}


def call(
    c: Cluster,
    path: str,
    body: object = None,
    headers: dict[str, str] | None = None,
    method: str = "POST",
) -> tuple[int, dict[str, str], bytes]:
    data = None if body is None else json.dumps(body).encode()
    return http(method, c.ingress + path, data, {**JSON, **(headers or {})})


def test_greeter_answers_through_the_whole_path(cluster: Cluster) -> None:
    status, headers, body = call(cluster, "/Greeter/greet", "World")
    assert (status, json.loads(body)) == (200, "Hello, World!")
    assert headers["content-type"] == "application/json"
    assert headers["x-restate-id"].startswith("inv_1")
    assert headers["x-perdure-id"] == headers["x-restate-id"]


def test_counter_keeps_state_per_key(cluster: Cluster) -> None:
    assert json.loads(call(cluster, "/Counter/alice/add", 5)[2]) == 5
    assert json.loads(call(cluster, "/Counter/alice/add", 5)[2]) == 10
    assert json.loads(call(cluster, "/Counter/bob/add", 1)[2]) == 1
    assert json.loads(call(cluster, "/Counter/alice/get", method="GET")[2]) == 10


def test_steps_runs_three_journaled_steps(cluster: Cluster) -> None:
    assert json.loads(call(cluster, "/Steps/run3", 1)[2]) == 7


def test_send_is_accepted_and_its_output_can_be_fetched(cluster: Cluster) -> None:
    status, headers, body = call(cluster, "/Counter/carol/add/send", 1)
    assert status == 202
    sent = json.loads(body)
    assert sent["status"] == "Accepted"
    invocation_id = sent["invocationId"]
    assert headers["x-restate-id"] == invocation_id

    def done() -> bool:
        return http("GET", f"{cluster.ingress}/restate/invocation/{invocation_id}/output")[0] == 200

    wait_until(done, 20, "the sent invocation to complete")
    status, _, body = http("GET", f"{cluster.ingress}/restate/invocation/{invocation_id}/output")
    assert (status, json.loads(body)) == (200, 1)
    status, _, body = http("GET", f"{cluster.ingress}/restate/invocation/{invocation_id}/attach")
    assert (status, json.loads(body)) == (200, 1)


def test_idempotency_key_returns_the_same_invocation_and_stored_response(cluster: Cluster) -> None:
    key = {"idempotency-key": "once"}
    first = call(cluster, "/Counter/dave/add", 3, key)
    second = call(cluster, "/Counter/dave/add", 3, key)
    assert first[0] == second[0] == 200
    assert json.loads(first[2]) == json.loads(second[2]) == 3
    assert first[1]["x-restate-id"] == second[1]["x-restate-id"]
    assert "idempotency-expires" in second[1]
    assert json.loads(call(cluster, "/Counter/dave/get", method="GET")[2]) == 3
    sent = json.loads(call(cluster, "/Counter/dave/add/send", 3, key)[2])
    assert sent == {"invocationId": first[1]["x-restate-id"], "status": "PreviouslyAccepted"}


def test_one_idempotency_key_on_two_handlers_makes_two_invocations(cluster: Cluster) -> None:
    key = {"idempotency-key": "shared"}
    added = call(cluster, "/Counter/zed/add", 4, key)
    got = call(cluster, "/Counter/zed/get", None, key, method="GET")
    assert (added[0], json.loads(added[2])) == (200, 4)
    assert (got[0], json.loads(got[2])) == (200, 4)  # get's own answer, after the add
    assert added[1]["x-restate-id"] != got[1]["x-restate-id"]
    again = call(cluster, "/Counter/zed/add", 4, key)  # add's stored result, not get's
    assert json.loads(again[2]) == 4 and again[1]["x-restate-id"] == added[1]["x-restate-id"]
    other_key = call(cluster, "/Counter/yan/add", 1, key)
    assert json.loads(other_key[2]) == 1  # same idempotency key, another object: runs
    assert other_key[1]["x-restate-id"] != added[1]["x-restate-id"]


def test_failing_step_is_retried_and_earlier_steps_run_once(cluster: Cluster) -> None:
    status, _, body = call(cluster, "/Flaky/twice_failing", "job")
    assert (status, json.loads(body)) == (200, "ab")
    assert cluster.lines("job.first") == ["ran"]
    assert cluster.lines("job.second") == ["ran", "ran", "ran"]


def test_input_of_the_wrong_type_ends_at_once_with_400_and_frees_the_key(
    cluster: Cluster,
) -> None:
    status, _, body = call(cluster, "/Counter/eve/add", "five")  # add takes an int
    assert status == 400, body
    assert "Unable to parse an input argument" in json.loads(body)["message"]
    assert json.loads(call(cluster, "/Counter/eve/add", 2)[2]) == 2  # the key is not blocked
