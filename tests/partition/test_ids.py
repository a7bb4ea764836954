"""Invocation ids: what identifies an idempotent invocation, and what its id encodes."""

from __future__ import annotations

import re

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
        assert ids.invocation_partition_key(raw) == pkey
    for pkey in (0, 1, 61, 62, 3843, 3844, 2**64 - 1):
        assert ids.invocation_partition_key(ids.invocation_id(pkey, b"\x01" * 16)) == pkey


@pytest.mark.parametrize("text", ["", "inv_", "inv_1", "inv_1!!!!!!!!", "dp_1abcdefghij", "x" * 64])
def test_malformed_invocation_ids_are_refused(text: str) -> None:
    with pytest.raises(ids.Error):
        ids.parse_invocation_id(text)
    with pytest.raises(ids.Error):
        ids.invocation_partition_key(text)


def test_a_bad_digit_is_named_wherever_it_is() -> None:
    good = ids.random_invocation_id()
    for at in (5, 6, 15, 16, 37):
        bad = good[:at] + "!" + good[at + 1 :]
        with pytest.raises(ids.Error, match="invalid character '!'"):
            ids.parse_invocation_id(bad)


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


def test_ids_keep_their_text_across_releases() -> None:
    # Ids are stored in the log and the store and handed to clients: the same inputs must give
    # the same text in every release (Restate's text: fixed-width base-62 numbers).
    assert ids.invocation_id(0, bytes(16)) == "inv_1" + "0" * 33
    assert ids.invocation_id(1, bytes(16)) == "inv_105k1wlNFHb20000000000000000000000"
    assert ids.invocation_id(263, bytes(16)) == "inv_10BhszZ952Pm0000000000000000000000"
    assert ids.invocation_id(2**64 - 1, b"\xff" * 16) == "inv_1lYGhA16ahyf7N42dgm5tFLK9N8MT7fHC7"
    assert (
        ids.deterministic_invocation_id("Counter", "z", "add", "once")
        == "inv_148Sfow52Nco4ousSI4atSRU7bLnbwucfn"
    )
    assert (
        ids.deterministic_invocation_id("Greeter", None, "greet", "k1")
        == "inv_12LHetpsKTlT7DIDcpsea2e9AV4JRhmDux"
    )
    assert (
        ids.deterministic_invocation_id("Signup", "alice", "run", None)
        == "inv_1bPMPec3I4kl6Ww3s1ztnseZKVBvqeLGoi"
    )
    assert ids.child_invocation_id("inv_1abc", 3, None) == "inv_17ffbqmxye7F3EjRHe1DQ3mhv3m49KKOGf"
    assert ids.child_invocation_id("inv_1abc", 3, "z") == "inv_148Sfow52Nco3EjRHe1DQ3mhv3m49KKOGf"
    assert ids.deployment_id("http://127.0.0.1:9080") == "dp_16wdqV99j4Igy90AHI07Utr"
    assert ids.random_seed("inv_1abc") == 1337897355197655615
    assert ids.awakeable_id("inv_1a", 7) == "sign_1aW52XzFhAAAABw"
    assert ids.awakeable_id("inv_1aaa", 23) == "sign_1aW52XzFhYWEAAAAX"


def test_ids_are_restates_text_so_the_restate_cli_parses_them() -> None:
    # Ids printed by Restate itself (its OpenAPI example; a ULID, so it starts with the time)
    # parse, and ours have Restate's shape: inv_1 + 11 + 22 digits, dp_1 + 22 digits.
    pkey, uuid = ids.parse_invocation_id("inv_1gdJBtdVEcM942bjcDmb1c1khoaJe11Hbz")
    assert uuid.hex().startswith("018e5257")  # a ULID of 2024
    assert ids.invocation_id(pkey, uuid) == "inv_1gdJBtdVEcM942bjcDmb1c1khoaJe11Hbz"
    assert ids._unb62("1nGQpCRmau6ypL82KH2TnP", 16).hex().startswith("0194")  # dp_1... too
    made = [ids.random_invocation_id() for _ in range(200)]
    assert all(re.fullmatch(r"inv_1[0-9a-zA-Z]{33}", i) for i in made)
    assert re.fullmatch(r"dp_1[0-9a-zA-Z]{22}", ids.deployment_id("http://x"))


@pytest.mark.parametrize("length", range(1, 13))
def test_awakeable_ids_of_every_length_round_trip(length: int) -> None:
    # Base64 drops its padding in the id; parsing restores however much each length needs.
    invocation_id = "inv_1" + "a" * length
    assert ids.parse_awakeable_id(ids.awakeable_id(invocation_id, 70_000)) == (
        invocation_id,
        70_000,
    )


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("inv_1!!!!!!!!", "it has 13 characters, an id has 38"),
        ("inv_1!" + "a" * 32, "invalid character '!' in id"),
        ("inv_1" + "z" * 64, "it has 69 characters"),
        ("inv_1" + "Z" * 33, "its digits 'ZZZZZZZZZZZ' do not fit in 64 bits"),
        ("dp_1abcdefghij", "'dp_1abcdefghij' is not an invocation id"),
    ],
)
def test_a_malformed_invocation_id_is_refused_saying_what_is_wrong(text: str, says: str) -> None:
    with pytest.raises(ids.Error, match=re.escape(says)):
        ids.parse_invocation_id(text)


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("prom_1abc", "'prom_1abc' is not an awakeable id"),
        ("sign_1!!", "'sign_1!!' is not a valid awakeable id"),
        ("sign_1" + "A" * 8, "is not a valid awakeable id"),
        ("sign_1A", "'sign_1A' is not a valid awakeable id"),  # not base64
        ("sign_1__4AAAAH", "'sign_1__4AAAAH' is not a valid awakeable id"),  # not UTF-8
    ],
)
def test_a_malformed_awakeable_id_is_refused_saying_what_is_wrong(text: str, says: str) -> None:
    with pytest.raises(ids.Error, match=re.escape(says)):
        ids.parse_awakeable_id(text)


def test_random_ids_stay_unique_and_whole_past_a_refill_of_the_random_pool() -> None:
    made = [ids.random_invocation_id() for _ in range(3000)]  # the pool holds 1,024 ids
    assert len(set(made)) == len(made)
    assert all(len(ids.parse_invocation_id(i)[1]) == 16 for i in made)


def test_a_random_pool_hands_out_whole_distinct_chunks_across_refills() -> None:
    pool = ids._RandomPool(chunk=48)  # two takes of 24 bytes per refill
    taken = [pool.take(24) for _ in range(10)]
    assert all(len(t) == 24 for t in taken)
    assert len(set(taken)) == len(taken)
