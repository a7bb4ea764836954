"""A saga: book a trip (flight, hotel, payment) and undo what was done when a step fails.

``Trips.book`` registers a compensation before each step. When a step fails with a
``TerminalError`` (the hotel is full, the card is declined), the compensations run in
reverse order and the error is re-raised to the caller. Every step is a durable call, so the saga
survives crashes and retries: compensations always run to completion.

Try it (served with ``python -m perdure serve examples.saga:app --port 9080`` and registered)::

    curl localhost:8080/Trips/book --json \\
        '{"trip_id": "t1", "flight": "LH1", "hotel": "Ritz", "card": "4242", "amount": 900}'
    # {"trip_id": "t1", "flight": "LH1", "hotel": "Ritz", "payment": "pay-t1-900"}
    curl localhost:8080/Trips/book --json \\
        '{"trip_id": "t2", "flight": "LH1", "hotel": "Ritz", "card": "declined", "amount": 900}'
    # 402 {"code": 402, "message": "payment declined", ...}
    curl localhost:8080/Flights/t2/status      # "cancelled"
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypedDict

import perdure as restate


class TripRequest(TypedDict):
    trip_id: str
    flight: str
    hotel: str
    card: str
    amount: int


class Booking(TypedDict):
    trip_id: str
    flight: str
    hotel: str
    payment: str


class Charge(TypedDict):
    trip_id: str
    card: str
    amount: int


# ------------------------------------------------------------------ flights (one object per trip)

flights = restate.VirtualObject("Flights")


@flights.handler(name="reserve")
async def reserve_flight(ctx: restate.ObjectContext, flight: str) -> str:
    ctx.set("flight", flight)
    ctx.set("status", "reserved")
    return flight


@flights.handler(name="cancel")
async def cancel_flight(ctx: restate.ObjectContext) -> None:
    if await ctx.get("status", type_hint=str) is not None:
        ctx.set("status", "cancelled")


@flights.handler(name="status", kind="shared")
async def flight_status(ctx: restate.ObjectSharedContext) -> str | None:
    return await ctx.get("status", type_hint=str)


# ------------------------------------------------------------------- hotels (one object per trip)

hotels = restate.VirtualObject("Hotels")


@hotels.handler(name="reserve")
async def reserve_hotel(ctx: restate.ObjectContext, hotel: str) -> str:
    if hotel == "full":
        raise restate.TerminalError("the hotel is fully booked", status_code=409)
    ctx.set("hotel", hotel)
    ctx.set("status", "reserved")
    return hotel


@hotels.handler(name="cancel")
async def cancel_hotel(ctx: restate.ObjectContext) -> None:
    if await ctx.get("status", type_hint=str) is not None:
        ctx.set("status", "cancelled")


@hotels.handler(name="status", kind="shared")
async def hotel_status(ctx: restate.ObjectSharedContext) -> str | None:
    return await ctx.get("status", type_hint=str)


# ------------------------------------------------------------------------------------ payments

payments = restate.VirtualObject("Payments")


def _charge_card(card: str, amount: int, trip_id: str) -> str:
    """Stands for the payment provider's API."""
    if card == "declined":
        raise restate.TerminalError("payment declined", status_code=402)
    return f"pay-{trip_id}-{amount}"


@payments.handler()
async def charge(ctx: restate.ObjectContext, req: Charge) -> str:
    payment_id = await ctx.run_typed(
        "charge card", _charge_card, card=req["card"], amount=req["amount"], trip_id=ctx.key()
    )
    ctx.set("payment", payment_id)
    ctx.set("status", "charged")
    return payment_id


@payments.handler()
async def refund(ctx: restate.ObjectContext) -> None:
    if await ctx.get("payment", type_hint=str) is not None:
        ctx.set("status", "refunded")


@payments.handler(name="status", kind="shared")
async def payment_status(ctx: restate.ObjectSharedContext) -> str | None:
    return await ctx.get("status", type_hint=str)


# ---------------------------------------------------------------------------------- the saga

trips = restate.Service("Trips")


@trips.handler()
async def book(ctx: restate.Context, trip: TripRequest) -> Booking:
    """Reserve a flight and a hotel, then charge the card; undo everything if a step fails."""
    trip_id = trip["trip_id"]
    compensations: list[Callable[[], Awaitable[None]]] = []
    try:
        compensations.append(lambda: ctx.object_call(cancel_flight, key=trip_id, arg=None))
        flight = await ctx.object_call(reserve_flight, key=trip_id, arg=trip["flight"])

        compensations.append(lambda: ctx.object_call(cancel_hotel, key=trip_id, arg=None))
        hotel = await ctx.object_call(reserve_hotel, key=trip_id, arg=trip["hotel"])

        compensations.append(lambda: ctx.object_call(refund, key=trip_id, arg=None))
        charge_request = Charge(trip_id=trip_id, card=trip["card"], amount=trip["amount"])
        payment = await ctx.object_call(charge, key=trip_id, arg=charge_request)
    except restate.TerminalError:
        for compensate in reversed(compensations):
            await compensate()
        raise
    return Booking(trip_id=trip_id, flight=flight, hotel=hotel, payment=payment)


app = restate.app(services=[trips, flights, hotels, payments])
