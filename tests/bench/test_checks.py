"""The body checks of `make bench` accept the example services' answers and reject others."""

from __future__ import annotations

from bench import checks
from bench.checks import Reply, Tally


def test_greet_check_accepts_the_greeting_and_rejects_another_body() -> None:
    greet = checks.json_equal("Hello, bench!")
    assert greet(Reply(200, b'"Hello, bench!"')) is None
    assert greet(Reply(200, b'"Hello, World!"')) is not None
    assert greet(Reply(200, b"Hello, bench!")) is not None  # not JSON


def test_run3_check_wants_x_plus_six() -> None:
    run3 = checks.json_equal(7)
    assert run3(Reply(200, b"7")) is None
    assert run3(Reply(200, b"6")) is not None
    assert run3(Reply(200, b'"7"')) is not None


def test_count_check_wants_an_integer_above_the_previous_count() -> None:
    above_10 = checks.count_above(10)
    assert above_10(Reply(200, b"11")) is None
    assert above_10(Reply(200, b"10")) is not None
    assert above_10(Reply(200, b"11.5")) is not None
    assert above_10(Reply(200, b"true")) is not None
    assert above_10(Reply(200, b"null")) is not None


def test_send_check_wants_202_with_an_invocation_id() -> None:
    assert checks.accepted(Reply(202, b'{"invocationId":"inv_1","status":"Accepted"}')) is None
    assert checks.accepted(Reply(200, b'{"invocationId":"inv_1"}')) is not None
    assert checks.accepted(Reply(202, b'{"invocationId":""}')) is not None
    assert checks.accepted(Reply(202, b'{"status":"Accepted"}')) is not None
    assert checks.accepted(Reply(202, b"1")) is not None


def test_hot_counter_must_grow_by_the_answered_adds_plus_at_most_those_in_flight() -> None:
    assert checks.hot_counter(before=100, after=150, answered=50, in_flight=16) is None
    assert checks.hot_counter(before=100, after=166, answered=50, in_flight=16) is None
    assert checks.hot_counter(before=100, after=149, answered=50, in_flight=16) is not None
    assert checks.hot_counter(before=100, after=167, answered=50, in_flight=16) is not None


def test_tally_counts_every_failure_and_keeps_a_few_distinct_samples() -> None:
    tally = Tally()
    wants_one = checks.json_equal(1)
    for body in (b"1", b"2", b"2", b"1"):
        tally.judge(wants_one, Reply(200, body))
    tally.error("500 b'boom'", count=3)
    for n in range(10):
        tally.note(f"sample {n}")
    assert (tally.checked, tally.wrong, tally.errors) == (4, 2, 3)
    assert tally.samples == ["expected 1, got 200 b'2'", "500 b'boom'"] + [
        f"sample {n}" for n in range(3)
    ]
