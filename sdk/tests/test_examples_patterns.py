"""The examples through the harness and a real node, with and without always-replay (every step
under a fresh replay: this would flush out any non-determinism in them)."""

from __future__ import annotations

import pytest

import perdure as restate
from examples import fan_out, saga


@pytest.mark.parametrize("always_replay", [False, True])
async def test_saga_books_or_compensates_under_the_harness(always_replay: bool) -> None:
    async with restate.create_test_harness(saga.app, always_replay=always_replay) as env:
        trip: saga.TripRequest = {
            "trip_id": "t1",
            "flight": "LH1",
            "hotel": "Ritz",
            "card": "4242",
            "amount": 900,
        }
        booked = await env.client.service_call(saga.book, arg=trip)
        assert booked["payment"] == "pay-t1-900"
        declined: saga.TripRequest = {**trip, "trip_id": "t2", "card": "declined"}
        with pytest.raises(restate.HttpError) as error:
            await env.client.service_call(saga.book, arg=declined)
        assert error.value.status_code == 402
        assert await env.client.object_call(saga.flight_status, key="t2", arg=None) == "cancelled"
        assert await env.client.object_call(saga.hotel_status, key="t2", arg=None) == "cancelled"


@pytest.mark.parametrize("always_replay", [False, True])
async def test_fan_out_under_the_harness(always_replay: bool) -> None:
    async with restate.create_test_harness(fan_out.app, always_replay=always_replay) as env:
        images = ["a.png", "corrupt.png", "b.png"]
        published = await env.client.service_call(fan_out.publish, arg=images)
        assert published == {
            "thumbnails": ["thumb-a.png", "thumb-b.png"],
            "failed": ["corrupt.png: unreadable image"],
        }
