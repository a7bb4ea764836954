"""Property-based fuzzing of the ingress over a real node (issue 11): request lines, paths,
query parameters (`delay`), headers (idempotency keys, content types) and bodies. Whatever the
request, the answer is below 500 (none of these requests can fail the node), carries no
traceback, the node logs none, keeps serving, and what was acknowledged before is unchanged."""

from __future__ import annotations

from collections import Counter

from hypothesis import given
from hypothesis import strategies as st

from tests.fuzz.budget import FUZZ_SETTINGS, run_rounds
from tests.fuzz.conftest import FuzzNode
from tests.fuzz.rawclient import exchange
from tests.fuzz.requests import (
    bodies,
    content_types,
    delays,
    extra_headers,
    idempotency_keys,
    methods,
    request_bytes,
    segment,
)

# Targets of the example services (examples/services.py) and the ingress's own routes, with
# room for hostile segments. Never the acknowledged counter's key (tests/fuzz/conftest.py).
paths = st.one_of(
    st.builds(lambda k: f"/Counter/{k}/add", segment),
    st.builds(lambda k: f"/Counter/{k}/add/send", segment),
    st.builds(lambda k: f"/Counter/{k}/get", segment),
    st.sampled_from(["/Greeter/greet", "/Greeter/greet/send", "/restate/send/Greeter/greet"]),
    st.builds(lambda k: f"/restate/call/Counter/{k}/add", segment),
    st.builds(lambda s, h: f"/{s}/{h}", segment, segment),
    st.builds(lambda a, b, c: f"/{a}/{b}/{c}/send", segment, segment, segment),
    st.builds(lambda i: f"/restate/invocation/{i}/output", segment),
    st.builds(lambda i: f"/restate/invocation/Counter/{i}/add/{i}/attach", segment),
    st.builds(lambda i: f"/restate/workflow/W/{i}/attach", segment),
    st.builds(lambda i, a: f"/restate/awakeables/{i}/{a}", segment, segment),
    st.sampled_from(["/restate/attach", "/restate/output", "/restate/lookup", "/restate/health"]),
    st.sampled_from(["/", "//", "/restate", "/openapi", "/restate/scope/x", "/metrics", "*"]),
    st.lists(segment, max_size=8).map(lambda parts: "/" + "/".join(parts)),
)
queries = st.lists(
    st.one_of(
        st.tuples(st.just("delay"), delays),
        st.tuples(st.sampled_from(["x", "delay", "", "key"]), st.text(max_size=20)),
    ),
    max_size=3,
)


@given(
    method=methods,
    path=paths,
    query=queries,
    content_type=st.none() | content_types,
    idempotency_key=st.none() | idempotency_keys,
    headers=extra_headers,
    body=bodies,
)
@FUZZ_SETTINGS
def fuzz_one_ingress_request(
    method: str,
    path: str,
    query: list[tuple[str, str]],
    content_type: str | None,
    idempotency_key: str | None,
    headers: list[tuple[str, str]],
    body: bytes,
) -> None:
    all_headers = list(headers)
    if content_type is not None:
        all_headers.append(("content-type", content_type))
    if idempotency_key is not None:
        all_headers.append(("idempotency-key", idempotency_key))
    data = request_bytes(method, path, query, all_headers, body)
    result = exchange(_PORT[0], data, head=method == "HEAD")
    assert result.closed, f"the node neither answered nor closed the connection: {data[:300]!r}"
    assert len(result.answers) == 1, result.raw[:500]
    answer = result.answers[0]
    assert answer.status < 500, (answer.status, answer.body[:500], data[:300])
    assert b"Traceback" not in answer.body
    _SEEN[answer.status] += 1


_PORT = [0]
_SEEN: Counter[int] = Counter()


def test_ingress_requests_of_any_shape_never_get_a_5xx(node: FuzzNode) -> None:
    _PORT[0] = node.ingress_port
    run_rounds(fuzz_one_ingress_request)
    print("ingress fuzz statuses:", dict(sorted(_SEEN.items())))
    # The fuzz got past the parser to the rules and to the handlers, not only to a 404.
    assert {200, 202} & set(_SEEN) and {400, 404} <= set(_SEEN), _SEEN
