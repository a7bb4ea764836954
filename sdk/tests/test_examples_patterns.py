"""examples/patterns.py through the harness and a real node, with and without always-replay."""

from __future__ import annotations

import pytest

import perdure as restate
from examples import patterns
from examples.patterns import Trip, book, greet_all, greet_or_give_up, request


@pytest.mark.parametrize("always_replay", [False, True])
async def test_example_patterns_run_on_a_real_node(always_replay: bool) -> None:
    patterns.LEDGER.clear()
    async with restate.create_test_harness(patterns.app, always_replay=always_replay) as env:
        client = env.client
        booked = await client.service_call(book, arg=Trip("t1", "visa"))
        assert booked == {"flight": "flight-t1", "hotel": "hotel-t1", "payment": "payment-t1"}

        with pytest.raises(restate.HttpError) as declined:
            await client.service_call(book, arg=Trip("t2", "declined"))
        assert (declined.value.status_code, declined.value.message) == (
            402,
            "card declined for trip t2",
        )
        assert patterns.LEDGER == [
            "reserve flight t1",
            "reserve hotel t1",
            "charge t1",
            "reserve flight t2",
            "reserve hotel t2",
            "cancel hotel-t2",
            "cancel flight-t2",
        ]

        assert await client.service_call(request, arg="holiday") == "holiday: approved"
        rejected = await client.service_call(request, arg="forbidden fruit")
        assert rejected == "forbidden fruit: rejected (403 not allowed)"

        greetings = await client.service_call(greet_all, arg=["Ada", "Bo", "Cy"])
        assert greetings == ["Hello, Ada!", "Hello, Bo!", "Hello, Cy!"]
        assert await client.service_call(greet_or_give_up, arg="Di") == "Hello, Di!"
