"""Hypothesis strategies for HTTP requests to the ingress and the admin API: mostly
well-formed around the real routes (so the fuzz reaches the rules behind the parser), with
hostile values in every part: methods, path segments, query parameters, headers, bodies."""

from __future__ import annotations

import json

from hypothesis import strategies as st

# Printable text that survives a request line and a header value unchanged.
_SAFE = st.characters(min_codepoint=0x21, max_codepoint=0x7E, exclude_characters="%?#/")
token = st.text(_SAFE, min_size=1, max_size=12)
percent = st.sampled_from(["%00", "%ff", "%2F", "%20", "%e2%82%ac", "%", "%zz", "%C3%28"])
segment = st.one_of(
    token,
    st.builds(lambda a, b: a + b, token, percent),
    st.just(""),
    st.text(_SAFE, min_size=200, max_size=3000),
)
methods = st.sampled_from(["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "HEAD", "TRACE"])

_DURATIONS = [
    "10s",
    "500ms",
    "1m30s",
    "PT10S",
    "P1DT2H",
    "0",
    "1000",
    "60 sec",
    "99999999999999d",
    "PT1000000000H",
    "-5s",
    "-1",
    "1e9s",
    "",
    " ",
    "NaN",
    "inf",
    "P",
    "PT",
    "10 parsecs",
    "9" * 400 + "s",
    "P" + "9" * 400 + "D",
    "\u0661\u0662",
    "1.5.5s",
    "0x10",
    "1_000",
]
delays = st.one_of(
    st.sampled_from(_DURATIONS),
    st.integers(min_value=-(10**30), max_value=10**30).map(str),
    st.builds(
        lambda n, unit: f"{n}{unit}",
        st.floats(allow_nan=True, allow_infinity=True),
        st.sampled_from(["ms", "s", "m", "h", "d", "w", "y", "µs", ""]),
    ),
    st.text(max_size=80),
)
idempotency_keys = st.one_of(
    st.text(_SAFE, min_size=0, max_size=40),
    st.text(_SAFE, min_size=1000, max_size=5000),
    st.sampled_from(["", " ", "k", "a" * 1024, "a" * 1025]),
)

_JSON_LEAF = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**40), max_value=10**40),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=30),
)
json_values = st.recursive(
    _JSON_LEAF,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)


def _deep(depth: int, kind: str) -> bytes:
    return (
        (b"[" * depth + b"]" * depth)
        if kind == "list"
        else (b'{"a":' * depth + b"1" + b"}" * depth)
    )


bodies = st.one_of(
    json_values.map(lambda v: json.dumps(v).encode()),
    st.binary(max_size=300),
    st.builds(_deep, st.sampled_from([10, 500, 1100, 100_000]), st.sampled_from(["list", "map"])),
    st.sampled_from(
        [b'"five"', b"5", b"1.5", b"true", b"null", b"{", b'{"n": "five"}', b"\xff\xfe"]
    ),
    st.just(b""),
)
content_types = st.one_of(
    st.sampled_from(
        [
            "application/json",
            "text/plain",
            "application/json; charset=utf-8",
            "*/*",
            "application/octet-stream",
            "",
            "application/vnd.custom+json",
            "multipart/form-data",
        ]
    ),
    st.text(_SAFE, max_size=30),
)
header_names = st.sampled_from(
    ["x-custom", "accept", "authorization", "x-restate-id", "traceparent", "cookie", "range"]
) | st.text(st.characters(min_codepoint=0x61, max_codepoint=0x7A), min_size=1, max_size=20)
header_values = st.text(
    st.characters(min_codepoint=0x20, max_codepoint=0xFF, exclude_characters="\x7f"), max_size=200
)
extra_headers = st.lists(st.tuples(header_names, header_values), max_size=5)


def request_bytes(
    method: str,
    path: str,
    query: list[tuple[str, str]],
    headers: list[tuple[str, str]],
    body: bytes,
) -> bytes:
    """A well-framed HTTP/1.1 request (content-length set), whatever its parts hold."""
    from urllib.parse import quote

    target = path
    if query:
        target += "?" + "&".join(f"{quote(k, safe='')}={quote(v, safe='')}" for k, v in query)
    lines = [f"{method} {target} HTTP/1.1", "host: fuzz"]
    lines += [f"{name}: {value}" for name, value in headers]
    lines.append(f"content-length: {len(body)}")
    head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
    return head + body
