"""Invocation ids: what identifies an idempotent invocation, and what its id encodes."""

from __future__ import annotations

import pytest

from partition import ids

BASE = ("Counter", "z", "add", "once")


@pytest.mark.parametrize(
    "other",
    [
        ("Counter", "z", "get", "once"),  # another handler of the same key
        ("Counter", "y", "add", "once"),  # another key
        ("Gauge", "z", "add", "once"),  # another service
        ("Counter", "z", "add", "twice"),  # another idempotency key
        ("Counter", None, "add", "once"),  # keyless
    ],
)
def test_an_idempotent_invocation_is_scoped_by_service_key_handler_and_idempotency_key(
    other: tuple[str, str | None, str, str],
) -> None:
    assert ids.deterministic_invocation_id(*BASE) == ids.deterministic_invocation_id(*BASE)
    assert ids.deterministic_invocation_id(*other) != ids.deterministic_invocation_id(*BASE)


def test_separators_keep_the_parts_of_an_idempotent_id_apart() -> None:
    # Joining without a separator would make ("ab", "c") and ("a", "bc") the same invocation.
    assert ids.deterministic_invocation_id("S", "ab", "c", "k") != ids.deterministic_invocation_id(
        "S", "a", "bc", "k"
    )


def test_a_workflow_run_is_identified_by_its_key() -> None:
    run = ids.deterministic_invocation_id("Signup", "alice", "run", None)
    assert run == ids.deterministic_invocation_id("Signup", "alice", "run", None)
    assert run != ids.deterministic_invocation_id("Signup", "bob", "run", None)
    assert run != ids.deterministic_invocation_id("Signup", "alice", "run", "alice")


def test_keyed_ids_carry_the_partition_key_of_their_key() -> None:
    for invocation_id in (
        ids.deterministic_invocation_id("Counter", "z", "add", "once"),
        ids.deterministic_invocation_id("Counter", "z", "get", "other"),
        ids.random_invocation_id("z"),
        ids.child_invocation_id(ids.random_invocation_id(), 3, "z"),
    ):
        assert ids.parse_invocation_id(invocation_id)[0] == ids.partition_key("z")


def test_keyless_idempotent_ids_are_placed_by_their_idempotency_key() -> None:
    pkey, _ = ids.parse_invocation_id(ids.deterministic_invocation_id("Greeter", None, "g", "k1"))
    assert pkey == ids.partition_key("k1")


def test_invocation_ids_round_trip() -> None:
    for _ in range(200):
        raw = ids.random_invocation_id()
        pkey, uuid = ids.parse_invocation_id(raw)
        assert ids.invocation_id(pkey, uuid) == raw


@pytest.mark.parametrize("text", ["", "inv_", "inv_1", "inv_1!!!!!!!!", "dp_1abcdefghij", "x" * 64])
def test_malformed_invocation_ids_are_refused(text: str) -> None:
    with pytest.raises(ids.Error):
        ids.parse_invocation_id(text)


def test_child_ids_differ_per_journal_index_and_parent() -> None:
    parent = ids.random_invocation_id()
    assert ids.child_invocation_id(parent, 1, None) != ids.child_invocation_id(parent, 2, None)
    assert ids.child_invocation_id(parent, 1, "k") == ids.child_invocation_id(parent, 1, "k")
    other = ids.random_invocation_id()
    assert ids.child_invocation_id(parent, 1, None) != ids.child_invocation_id(other, 1, None)


def test_awakeable_ids_round_trip_and_refuse_garbage() -> None:
    parent = ids.random_invocation_id()
    assert ids.parse_awakeable_id(ids.awakeable_id(parent, 7)) == (parent, 7)
    for text in ("sign_1", "sign_1!!", "prom_1abc", "sign_1" + "A" * 8):
        with pytest.raises(ids.Error):
            ids.parse_awakeable_id(text)
