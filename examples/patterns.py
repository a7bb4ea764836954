"""Durable patterns written against the restate-sdk API (only the import line says Perdure):
a saga with compensations, an awakeable round trip, a fan-out with ``gather`` and a call raced
against a durable timer.

Serve: ``python -m perdure serve examples.patterns:app --port 9081``, then register
``http://127.0.0.1:9081`` with the node (``POST :9070/deployments``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import perdure as restate
from examples.services import greet, greeter
from perdure import Context, RunOptions, TerminalError

# A pretend booking system: the side effects the saga performs and undoes.
LEDGER: list[str] = []

# ---------------------------------------------------------------------------- saga


@dataclass
class Trip:
    trip_id: str
    card: str  # "declined" makes the payment fail


def reserve_flight(trip_id: str) -> str:
    LEDGER.append(f"reserve flight {trip_id}")
    return f"flight-{trip_id}"


def reserve_hotel(trip_id: str) -> str:
    LEDGER.append(f"reserve hotel {trip_id}")
    return f"hotel-{trip_id}"


def charge(card: str, trip_id: str) -> str:
    if card == "declined":
        raise TerminalError(f"card declined for trip {trip_id}", status_code=402)
    LEDGER.append(f"charge {trip_id}")
    return f"payment-{trip_id}"


def undo(booking: str) -> None:
    LEDGER.append(f"cancel {booking}")


trips = restate.Service("TripBooking")


@trips.handler()
async def book(ctx: Context, trip: Trip) -> dict[str, str]:
    """Reserves a flight and a hotel, then pays; on a terminal failure (or a cancellation) undoes
    what was reserved, newest first, and fails with the original error."""
    undos: list[str] = []
    try:
        flight = await ctx.run_typed("reserve flight", reserve_flight, RunOptions(), trip.trip_id)
        undos.append(flight)
        hotel = await ctx.run_typed("reserve hotel", reserve_hotel, RunOptions(), trip.trip_id)
        undos.append(hotel)
        payment = await ctx.run_typed("charge", charge, RunOptions(), trip.card, trip.trip_id)
        return {"flight": flight, "hotel": hotel, "payment": payment}
    except TerminalError:
        for booking in reversed(undos):
            await ctx.run_typed(f"cancel {booking}", undo, RunOptions(), booking)
        raise


# ---------------------------------------------------------------------------- awakeables


@dataclass
class Review:
    awakeable_id: str
    subject: str


approvals = restate.Service("Approvals")


@approvals.handler()
async def request(ctx: Context, subject: str) -> str:
    """Asks a reviewer (another handler, which answers whenever it runs) and waits durably."""
    awakeable_id, decision = ctx.awakeable(type_hint=str)
    ctx.service_send(review, arg=Review(awakeable_id, subject))
    try:
        return f"{subject}: {await decision}"
    except TerminalError as e:
        return f"{subject}: rejected ({e.status_code} {e.message})"


@approvals.handler()
async def review(ctx: Context, item: Review) -> None:
    """Completes the requester's awakeable."""
    if "forbidden" in item.subject:
        ctx.reject_awakeable(item.awakeable_id, "not allowed", 403)
    else:
        ctx.resolve_awakeable(item.awakeable_id, "approved")


# ---------------------------------------------------------------------------- fan-out


fanout = restate.Service("FanOut")


@fanout.handler()
async def greet_all(ctx: Context, names: list[str]) -> list[str]:
    """Calls the Greeter for every name at once and collects the answers in order."""
    calls = [ctx.service_call(greet, arg=name) for name in names]
    await restate.gather(*calls)
    return [await call for call in calls]


@fanout.handler()
async def greet_or_give_up(ctx: Context, name: str) -> str:
    """Races a call against a durable timer."""
    match await restate.select(
        answer=ctx.service_call(greet, arg=name), timeout=ctx.sleep(timedelta(seconds=30))
    ):
        case ["answer", greeting]:
            return str(greeting)
        case _:
            return "timed out"


app = restate.app(services=[trips, approvals, fanout, greeter])
