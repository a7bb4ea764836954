"""Decorator rules: must be called, need the context parameter, unique names, docstrings, serdes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import msgspec
import pydantic
import pytest

import perdure as restate
from perdure import Context
from perdure.handler import handler_from_callable
from perdure.serde import (
    BytesSerde,
    DefaultSerde,
    JsonSerde,
    MsgspecJsonSerde,
    PydanticJsonSerde,
    serde_for_type,
)


class Order(pydantic.BaseModel):
    id: str
    amount: int


class Item(msgspec.Struct):
    sku: str


@dataclass
class Receipt:
    charge_id: str
    amount: int


def test_zero_parameter_handler_is_refused() -> None:
    svc = restate.Service("S")
    with pytest.raises(ValueError, match="context"):

        @svc.handler()
        async def nothing() -> None:
            return None


def test_duplicate_handler_name_is_refused() -> None:
    svc = restate.Service("S")

    @svc.handler()
    async def h(ctx: Context) -> None:
        return None

    with pytest.raises(ValueError, match="twice"):

        @svc.handler(name="h")
        async def other(ctx: Context) -> None:
            return None


def test_decorator_must_be_called() -> None:
    svc = restate.Service("S")

    async def h(ctx: Context) -> None:
        return None

    with pytest.raises(TypeError, match="must be called"):
        svc.handler(h)  # type: ignore[arg-type]


def test_decorated_function_is_the_handle_and_keeps_docstring() -> None:
    obj = restate.VirtualObject("O")

    @obj.handler(kind="shared", name="peek")
    async def look(ctx: restate.ObjectSharedContext) -> int:
        """Peeks at the thing."""
        return 1

    h = handler_from_callable(look)
    assert (h.name, h.kind, h.documentation) == ("peek", "shared", "Peeks at the thing.")
    assert look.__name__ == "look"
    assert not h.io.has_input and h.io.has_output


def test_serdes_are_picked_from_type_hints() -> None:
    svc = restate.Service("S")

    @svc.handler()
    async def pyd(ctx: Context, o: Order) -> Item:
        return Item(sku=o.id)

    @svc.handler()
    async def dc(ctx: Context, r: Receipt | None) -> Receipt:
        return r or Receipt("x", 1)

    @svc.handler(input_serde=BytesSerde(), output_serde=BytesSerde())
    async def raw(ctx: Context, body: bytes) -> bytes:
        return body

    @svc.handler()
    async def plain(ctx: Context, x: dict[str, Any]) -> None:
        return None

    p, d, r, n = (handler_from_callable(f).io for f in (pyd, dc, raw, plain))
    assert isinstance(p.input_serde, PydanticJsonSerde)
    assert isinstance(p.output_serde, MsgspecJsonSerde)
    assert isinstance(d.input_serde, DefaultSerde) and d.input_serde.type_hint is Receipt
    assert isinstance(r.input_serde, BytesSerde)
    assert isinstance(n.input_serde, DefaultSerde) and n.input_serde.type_hint == dict[str, Any]
    assert n.input_serde.deserialize(b'{"a": 1}') == {"a": 1}
    with pytest.raises(TypeError, match="expected dict"):
        n.input_serde.deserialize(b"[1]")
    assert not n.has_output
    assert d.input_serde.deserialize(b'{"charge_id": "c", "amount": 3}') == Receipt("c", 3)
    assert d.output_serde.serialize(Receipt("c", 3)) == b'{"charge_id": "c", "amount": 3}'


@pytest.mark.parametrize(
    ("hint", "good", "bad"),
    [
        (int, b"5", b'"five"'),
        (int, b"-3", b"true"),  # a JSON boolean is not an int input
        (float, b"2", b'"2.5"'),
        (str, b'"x"', b"5"),
        (bool, b"false", b"0"),
        (list[int], b"[1]", b'{"a": 1}'),
    ],
)
def test_plain_type_hints_refuse_input_of_another_type(hint: Any, good: bytes, bad: bytes) -> None:
    serde = serde_for_type(hint)
    assert serde.deserialize(good) is not None
    with pytest.raises(TypeError, match="expected"):
        serde.deserialize(bad)


def test_default_serde_rules() -> None:
    assert DefaultSerde().deserialize(b"") is None
    assert DefaultSerde().serialize(None) == b""
    assert DefaultSerde[Receipt]().serialize(Receipt("a", 1)) == b'{"charge_id": "a", "amount": 1}'
    assert DefaultSerde(Order).deserialize(b'{"id": "o", "amount": 2}') == Order(id="o", amount=2)
    assert DefaultSerde(list[Receipt]).deserialize(b'[{"charge_id": "a", "amount": 1}]') == [
        Receipt("a", 1)
    ]
    assert JsonSerde[int]().deserialize(b"5") == 5
    assert BytesSerde().serialize(None) == b""
    assert MsgspecJsonSerde(Item).deserialize(b'{"sku": "s"}') == Item(sku="s")
