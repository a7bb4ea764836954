"""Pure parsing: ingress paths to routes, delays, timestamps."""

from __future__ import annotations

import pytest

from ingress.api import ById, ByIdempotencyKey, ByWorkflow
from ingress.durations import friendly_ms, parse_delay_ms, rfc3339_ms
from ingress.paths import (
    Awakeable,
    Health,
    Invoke,
    Lookup,
    LookupByBody,
    OpenApi,
    PathError,
    Route,
    parse_route,
)
from tests.ingress.fakes import FakeIngress, handler_info

CATALOG = (
    FakeIngress()
    .add(handler_info("Greeter", "greet"))
    .add(handler_info("Greeter", "other"))
    .add(handler_info("Counter", "add", "virtual_object", "exclusive"))
    .add(handler_info("Counter", "get", "virtual_object", "shared"))
    .add(handler_info("Signup", "run", "workflow", "workflow"))
)


def route(path: str) -> Route | PathError:
    return parse_route(path, CATALOG)


def invoke(path: str) -> tuple[str, str, str | None, bool]:
    r = route(path)
    assert isinstance(r, Invoke), r
    return r.target.service, r.target.handler, r.key, r.send


def error(path: str) -> int:
    r = route(path)
    assert isinstance(r, PathError), r
    return r.status


def test_service_call_and_send() -> None:
    assert invoke("/Greeter/greet") == ("Greeter", "greet", None, False)
    assert invoke("/Greeter/greet/send") == ("Greeter", "greet", None, True)
    assert invoke("/Greeter/greet/") == ("Greeter", "greet", None, False)


def test_keyed_call_and_send_decode_the_key() -> None:
    assert invoke("/Counter/my%20key/add") == ("Counter", "add", "my key", False)
    assert invoke("/Counter/k/add/send") == ("Counter", "add", "k", True)
    assert invoke("/Signup/a%2Fb/run") == ("Signup", "run", "a/b", False)


def test_a_key_that_is_also_a_handler_name_is_still_a_key() -> None:
    assert invoke("/Counter/get/add") == ("Counter", "add", "get", False)
    assert invoke("/Counter/send/get") == ("Counter", "get", "send", False)


def test_new_call_and_send_paths() -> None:
    assert invoke("/restate/call/Greeter/greet") == ("Greeter", "greet", None, False)
    assert invoke("/restate/send/Counter/k/add") == ("Counter", "add", "k", True)
    assert error("/restate/call/Counter/add") == 400  # keyed service without a key
    assert error("/restate/call/Greeter/k/greet") == 400  # key given to a plain service


def test_unknown_service_or_handler_is_404() -> None:
    assert error("/Nope/greet") == 404
    assert error("/Greeter/nope") == 404
    assert error("/Greeter/nope/send") == 404
    assert error("/Counter/k/nope") == 404
    assert error("/Nope/k/h/send") == 404


def test_malformed_service_paths_are_400() -> None:
    assert error("/Counter/add") == 400  # missing key
    assert error("/Greeter/greet/extra") == 400
    assert error("/Counter/k/add/nope") == 400
    assert error("/Counter/k/add/send/more") == 400
    assert error("/Greeter") == 400
    assert error("/Counter/%ff/add") == 400  # key is not UTF-8


def test_root_and_reserved_paths() -> None:
    assert error("/") == 404
    assert isinstance(route("/openapi"), OpenApi)
    assert isinstance(route("/restate/health"), Health)
    assert error("/restate/unknown") == 404


def test_invocation_lookups_by_id_idempotency_key_and_workflow() -> None:
    assert route("/restate/invocation/inv_1abc/attach") == Lookup(ById("inv_1abc"), "attach")
    assert route("/restate/invocation/inv_1abc/output") == Lookup(ById("inv_1abc"), "output")
    assert route("/restate/invocation/Greeter/greet/my%20k/output") == Lookup(
        ByIdempotencyKey("Greeter", None, "greet", "my k"), "output"
    )
    assert route("/restate/invocation/Counter/c%3D1/add/ik/attach") == Lookup(
        ByIdempotencyKey("Counter", "c=1", "add", "ik"), "attach"
    )
    assert route("/restate/workflow/Signup/u%401/attach") == Lookup(
        ByWorkflow("Signup", "u@1"), "attach"
    )
    assert route("/restate/attach/inv_1x") == Lookup(ById("inv_1x"), "attach")
    assert route("/restate/output/inv_1x") == Lookup(ById("inv_1x"), "output")


def test_lookup_path_errors() -> None:
    assert error("/restate/invocation/inv_1abc/peek") == 404
    assert error("/restate/invocation/inv_1abc") == 400
    assert error("/restate/invocation/not-an-id/attach") == 400
    assert error("/restate/invocation/Nope/h/ik/attach") == 404
    assert error("/restate/workflow/Signup/k") == 400
    assert error("/restate/workflow/Signup/k/peek") == 404
    assert error("/restate/attach/bogus") == 400


def test_body_lookups_and_awakeables() -> None:
    assert route("/restate/attach") == LookupByBody("attach")
    assert route("/restate/output") == LookupByBody("output")
    assert route("/restate/lookup") == LookupByBody("lookup")
    assert route("/restate/awakeables/sign_1a/resolve") == Awakeable("sign_1a", "resolve")
    assert route("/restate/a/sign_1a/reject") == Awakeable("sign_1a", "reject")
    assert error("/restate/awakeables/sign_1a") == 400
    assert error("/restate/awakeables//reject") == 400
    assert error("/restate/awakeables/sign_1a/complete") == 404


@pytest.mark.parametrize(
    ("text", "ms"),
    [
        ("PT10S", 10_000),
        ("pt1.5s", 1_500),
        ("PT1M30S", 90_000),
        ("P1DT1H", 90_000_000),
        ("P2W", 1_209_600_000),
        ("10s", 10_000),
        ("500ms", 500),
        ("1m30s", 90_000),
        ("60 sec", 60_000),
        ("1h 2m 3s", 3_723_000),
        ("2 days, 3 hours", 183_600_000),
        ("1.5s", 1_500),
        ("0", 0),
        ("1500", 1_500),
    ],
)
def test_parse_delay(text: str, ms: int) -> None:
    assert parse_delay_ms(text) == ms


@pytest.mark.parametrize(
    "text",
    [
        *("", "abc", "10 parsecs", "P1Y", "PT", "P", "-5s", "10s x", "36501d", "99999999999999d"),
        *("9" * 400 + "s", "P" + "9" * 400 + "D", "PT" + "9" * 309 + "S", "\u00b2", "1" * 65),
    ],
)
def test_parse_delay_rejects_garbage(text: str) -> None:
    with pytest.raises(ValueError):
        parse_delay_ms(text)


def test_rfc3339_and_friendly_formats() -> None:
    assert rfc3339_ms(0) == "1970-01-01T00:00:00.000Z"
    assert rfc3339_ms(1_700_000_000_123) == "2023-11-14T22:13:20.123Z"
    assert friendly_ms(86_400_000) == "1 day"
    assert friendly_ms(5_400_000) == "1 hour 30 minutes"
    assert friendly_ms(500) == "500 milliseconds"
    assert friendly_ms(0) == "0 seconds"
