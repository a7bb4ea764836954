"""A handler's input is checked against its type hint before the handler runs: input that can
never fit ends the invocation at once with a terminal 400 naming the mismatch (issue 11)."""

from __future__ import annotations

import enum
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any, Literal

import msgspec
import pydantic
import pytest

import perdure as restate
from perdure import Context
from perdure._testing import StreamDriver, ended, msg_start, start
from perdure.serde import serde_for_type


@dataclass
class Order:
    item: str
    quantity: int
    tags: list[str] = field(default_factory=list)


class Invoice(pydantic.BaseModel):
    amount: int


class Parcel(msgspec.Struct):
    weight: float


class Colour(enum.Enum):
    RED = "red"


@pytest.mark.parametrize(
    ("hint", "good", "bad", "named"),
    [
        (int, b"5", b'"five"', 'input: expected int, got "five"'),
        (int, b"5", b"1.5", "expected int, got 1.5"),
        (float, b"2", b"true", "expected float, got true"),
        (int | None, b"null", b'"five"', 'input: expected int, got "five"'),
        (int | str, b'"x"', b"[1]", "expected int | str, got [1]"),
        (list[int], b"[1, 2]", b'[1, "x"]', 'input[1]: expected int, got "x"'),
        (dict[str, int], b'{"a": 1}', b'{"a": "b"}', 'input.a: expected int, got "b"'),
        (tuple[int, str], b'[1, "a"]', b"[1]", "expected an array of 2 items"),
        (Literal["a", "b"], b'"a"', b'"c"', "expected one of ['a', 'b']"),
        (Colour, b'"red"', b'"blue"', "expected one of ['red']"),
        (Order, b'{"item": "x", "quantity": 2}', b'{"item": "x"}', "'quantity' of Order"),
        (
            Order,
            b'{"item": "x", "quantity": 2}',
            b'{"item": "x", "quantity": "2"}',
            "input.quantity",
        ),
        (
            Order,
            b'{"item": "x", "quantity": 2, "tags": ["a"]}',
            b'{"item": "x", "quantity": 2, "tags": [3]}',
            "input.tags[0]",
        ),
        (list[Order], b"[]", b'[{"item": 1, "quantity": 1}]', "input[0].item: expected str"),
        (Invoice | None, b'{"amount": 3}', b'{"amount": "x"}', "not a valid Invoice: amount"),
        (list[Parcel], b'[{"weight": 1}]', b'[{"weight": "x"}]', "input[0]: not a valid Parcel"),
        (Any, b'"anything"', None, ""),
    ],
)
def test_input_that_cannot_fit_the_hint_is_refused_naming_the_mismatch(
    hint: Any, good: bytes, bad: bytes | None, named: str
) -> None:
    serde = serde_for_type(hint)
    serde.deserialize(good)  # fits: no error
    if bad is not None:
        with pytest.raises(TypeError) as refused:
            serde.deserialize(bad)
        assert named in str(refused.value)


def test_fitting_input_is_still_decoded_into_the_hinted_types() -> None:
    order = serde_for_type(list[Order]).deserialize(b'[{"item": "x", "quantity": 2, "extra": 1}]')
    assert order == [Order("x", 2)]
    assert serde_for_type(float).deserialize(b"2") == 2


ran: list[object] = []
shop = restate.Service("Shop")


@shop.handler()
async def buy(ctx: Context, order: Order) -> int:
    ran.append(order)
    return order.quantity


@shop.handler()
async def count(ctx: Context, n: int | None) -> int:
    ran.append(n)
    return n or 0


@pytest.fixture
async def driver() -> AsyncIterator[StreamDriver]:
    ran.clear()
    d = StreamDriver(restate.app(services=[shop]))
    yield d
    d.close()


@pytest.mark.parametrize(
    ("handler", "body", "named"),
    [
        ("buy", b'{"item": "x", "quantity": "five"}', 'input.quantity: expected int, got "five"'),
        ("buy", b'"five"', 'input: expected Order (a JSON object), got "five"'),
        ("count", b'"five"', 'input: expected int, got "five"'),
        ("buy", b"", "requires an input"),  # nothing can make None an Order
        ("buy", b"null", "requires an input"),
    ],
)
async def test_mistyped_input_ends_the_invocation_at_once_with_a_terminal_400(
    driver: StreamDriver, handler: str, body: bytes, named: str
) -> None:
    driver.send(msg_start("i1", start("Shop", handler, body)))
    out = await driver.until(ended("i1"))
    (output,) = [m for m in out if m.command.entry.HasField("output")]
    failure = output.command.entry.output.result.failure
    assert failure.code == 400  # terminal: the invocation ends, no retry
    assert named in failure.message
    assert not [m for m in out if m.HasField("error")]  # not an attempt failure (retried)
    assert ran == []  # the handler never ran


@pytest.mark.parametrize("body", [b"", b"null"])
async def test_no_input_reaches_a_handler_whose_hint_is_optional(
    driver: StreamDriver, body: bytes
) -> None:
    driver.send(msg_start("i1", start("Shop", "count", body)))
    out = await driver.until(ended("i1"))
    (output,) = [m for m in out if m.command.entry.HasField("output")]
    assert output.command.entry.output.result.value == b"0"
    assert ran == [None]


async def test_fitting_input_reaches_the_handler(driver: StreamDriver) -> None:
    driver.send(msg_start("i1", start("Shop", "buy", b'{"item": "x", "quantity": 3}')))
    out = await driver.until(ended("i1"))
    (output,) = [m for m in out if m.command.entry.HasField("output")]
    assert output.command.entry.output.result.value == b"3"
    assert ran == [Order("x", 3)]
