"""Property-based fuzzing of the pure parts the ingress and the SDK run on untrusted input:
whatever the text, they answer or refuse with their own error, never another exception (which
would be a 500, or a retried invocation)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Literal

from hypothesis import given
from hypothesis import strategies as st

from ingress.api import HandlerInfo, InvokeRequest
from ingress.durations import MAX_DELAY_MS, parse_delay_ms
from ingress.paths import PathError, parse_route
from ingress.rules import Refused, invoke_request
from perdure.serde import serde_for_type
from tests.fuzz.budget import FUZZ_SETTINGS, run_rounds
from tests.fuzz.requests import bodies, delays, idempotency_keys, json_values
from tests.ingress.fakes import FakeIngress, handler_info

# Pure functions run thousands of examples a second: a third of the budget is plenty.
PURE_SHARE = 1 / 3
CATALOG = (
    FakeIngress()
    .add(handler_info("Greeter", "greet", input_required=True))
    .add(handler_info("Counter", "add", "virtual_object", "exclusive"))
    .add(handler_info("Signup", "run", "workflow", "workflow"))
)
TARGET: HandlerInfo = handler_info("Counter", "add", "virtual_object", "exclusive")


@given(text=st.one_of(delays, st.text()))
@FUZZ_SETTINGS
def fuzz_delay(text: str) -> None:
    try:
        ms = parse_delay_ms(text)
    except ValueError:
        return
    assert 0 <= ms <= MAX_DELAY_MS


@given(path=st.text().map(lambda t: "/" + t) | st.lists(st.text(max_size=10)).map("/".join))
@FUZZ_SETTINGS
def fuzz_route(path: str) -> None:
    route = parse_route(path, CATALOG)
    if isinstance(route, PathError):
        assert 400 <= route.status < 500


@given(
    delay=st.none() | delays,
    key=st.none() | idempotency_keys,
    body=bodies,
    content_type=st.none() | st.sampled_from(["application/json", "text/plain", "*/*", ""]),
    send=st.booleans(),
)
@FUZZ_SETTINGS
def fuzz_invoke_rules(
    delay: str | None, key: str | None, body: bytes, content_type: str | None, send: bool
) -> None:
    result = invoke_request(
        TARGET,
        "k",
        send=send,
        body=body,
        content_type=content_type,
        headers=(),
        idempotency_key=key,
        delay=delay,
    )
    if isinstance(result, Refused):
        assert 400 <= result.status < 500
        return
    assert isinstance(result, InvokeRequest)
    assert result.delay_ms is None or 0 <= result.delay_ms <= MAX_DELAY_MS


@dataclass
class Item:
    name: str
    count: int
    tags: list[str] | None = None


HINTS: list[Any] = [
    int, float, str, bool, list[int], dict[str, float], int | None, Item, list[Item],
    tuple[int, str], Literal["a", "b"], dict[str, list[Item | None]], Any,
]  # fmt: skip


@given(hint=st.sampled_from(HINTS), value=json_values | st.builds(dict, name=st.text()))
@FUZZ_SETTINGS
def fuzz_input_check(hint: Any, value: Any) -> None:
    serde = serde_for_type(hint)
    try:
        serde.deserialize(json.dumps(value).encode())
    except TypeError as exc:
        assert str(exc).startswith("input"), exc


def test_delay_parsing_answers_or_refuses_any_text() -> None:
    run_rounds(fuzz_delay, share=PURE_SHARE)


def test_route_parsing_answers_any_path() -> None:
    run_rounds(fuzz_route, share=PURE_SHARE)


def test_invocation_rules_answer_or_refuse_any_request() -> None:
    run_rounds(fuzz_invoke_rules, share=PURE_SHARE)


def test_input_checks_refuse_with_a_type_error_naming_the_input() -> None:
    run_rounds(fuzz_input_check, share=PURE_SHARE)
