"""The simulated deployment's services, the manifest it registers, and where their keys live.

* `Counter/add` (Virtual Object, exclusive): get `count`, set it to count + n, return it.
* `ChainA/run` -> `ChainB/run` -> `ChainC/run` (Virtual Objects on different groups, calls):
  C runs a step with a side effect and returns `C(x,token)`; B and A wrap what they got:
  `A(B(C(x,token)))`; a failure (a cancellation) is passed back up as it is.
* `Sender/fanout` (Service): one-way sends of `Counter/add(1)`, some delayed.
* `Stepper/steps` (Service): two `run` steps; returns both tokens.
"""

from __future__ import annotations

from partition import ids
from partition.routing import Partitioning
from perdure_proto import protocol_pb2 as pb
from sim.deployment import Context, Handler

DEPLOYMENT_ID = "dp_sim"
CHAIN = ("ChainA", "ChainB", "ChainC")


def manifest() -> pb.Manifest:
    m = pb.Manifest(min_protocol_version=1, max_protocol_version=1)
    for name, handler in (("Counter", "add"), *((c, "run") for c in CHAIN)):
        m.services.add(name=name, ty=pb.VIRTUAL_OBJECT).handlers.add(name=handler, ty=pb.EXCLUSIVE)
    m.services.add(name="Sender", ty=pb.SERVICE).handlers.add(name="fanout")
    m.services.add(name="Stepper", ty=pb.SERVICE).handlers.add(name="steps")
    for svc in m.services:
        for h in svc.handlers:
            h.output.present = True
    return m


def value(text: str) -> pb.Result:
    return pb.Result(value=text.encode())


async def counter_add(ctx: Context, arg: bytes) -> pb.Result:
    count = int(await ctx.get_state("count") or b"0") + int(arg)
    await ctx.set_state("count", str(count).encode())
    return value(str(count))


async def chain_a(ctx: Context, arg: bytes) -> pb.Result:
    x, kb, kc = arg.decode().split("|")
    got = await ctx.call("ChainB", "run", kb, f"{x}|{kc}".encode())
    return value(f"A({got.value.decode()})") if got.HasField("value") else got


async def chain_b(ctx: Context, arg: bytes) -> pb.Result:
    x, kc = arg.decode().split("|")
    got = await ctx.call("ChainC", "run", kc, x.encode())
    return value(f"B({got.value.decode()})") if got.HasField("value") else got


async def chain_c(ctx: Context, arg: bytes) -> pb.Result:
    token = await ctx.run()
    return value(f"C({arg.decode()},{token})")


def fanout_arg(targets: list[tuple[str, int]]) -> bytes:
    return ",".join(f"{key}@{delay_ms}" for key, delay_ms in targets).encode()


def parse_fanout(arg: bytes) -> list[tuple[str, int]]:
    return [(k, int(d)) for k, d in (t.split("@") for t in arg.decode().split(","))]


async def sender_fanout(ctx: Context, arg: bytes) -> pb.Result:
    targets = parse_fanout(arg)
    for key, delay_ms in targets:
        await ctx.send("Counter", "add", key, b"1", delay_ms)
    return value(str(len(targets)))


async def stepper_steps(ctx: Context, arg: bytes) -> pb.Result:
    first = await ctx.run()
    second = await ctx.run()
    return value(f"{first},{second}")


HANDLERS: dict[tuple[str, str], Handler] = {
    ("Counter", "add"): counter_add,
    ("ChainA", "run"): chain_a,
    ("ChainB", "run"): chain_b,
    ("ChainC", "run"): chain_c,
    ("Sender", "fanout"): sender_fanout,
    ("Stepper", "steps"): stepper_steps,
}


def keys_on(partitioning: Partitioning, group: int, count: int, prefix: str) -> list[str]:
    """The first `count` keys named `prefix<n>` that `group` owns."""
    out: list[str] = []
    n = 0
    while len(out) < count:
        key = f"{prefix}{n}"
        if partitioning.group_of_key(ids.partition_key(key)) == group:
            out.append(key)
        n += 1
    return out
