"""examples/saga.py: a trip is booked, or every step done so far is compensated."""

from __future__ import annotations

from tests.e2e.conformance.helpers import invoke, new_key
from tests.e2e.conftest import Cluster
from tests.e2e.helpers import call

EXAMPLE = "examples.saga:app"


def _trip(trip_id: str, hotel: str = "Ritz", card: str = "4242") -> dict[str, object]:
    return {"trip_id": trip_id, "flight": "LH1", "hotel": hotel, "card": card, "amount": 900}


def _statuses(c: Cluster, trip_id: str) -> tuple[object, object, object]:
    return (
        call(c, f"/Flights/{trip_id}/status"),
        call(c, f"/Hotels/{trip_id}/status"),
        call(c, f"/Payments/{trip_id}/status"),
    )


def test_a_trip_is_booked_when_every_step_succeeds(example: Cluster) -> None:
    trip_id = new_key()
    booking = call(example, "/Trips/book", _trip(trip_id))
    assert booking == {
        "trip_id": trip_id,
        "flight": "LH1",
        "hotel": "Ritz",
        "payment": f"pay-{trip_id}-900",
    }
    assert _statuses(example, trip_id) == ("reserved", "reserved", "charged")


def test_a_declined_card_cancels_the_hotel_and_the_flight(example: Cluster) -> None:
    trip_id = new_key()
    status, _, body = invoke(example, "/Trips/book", _trip(trip_id, card="declined"))
    assert (status, body["message"]) == (402, "payment declined")
    assert _statuses(example, trip_id) == ("cancelled", "cancelled", None)


def test_a_full_hotel_cancels_the_flight(example: Cluster) -> None:
    trip_id = new_key()
    status, _, body = invoke(example, "/Trips/book", _trip(trip_id, hotel="full"))
    assert (status, body["message"]) == (409, "the hotel is fully booked")
    assert _statuses(example, trip_id) == ("cancelled", None, None)
