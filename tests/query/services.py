"""The example services plus one that always fails with a retryable error (so an invocation
stays backing-off with a last failure while the tests query it)."""

from __future__ import annotations

import perdure as restate
from examples.services import counter, greeter, payment, steps
from perdure import Context

flaky = restate.Service("Flaky")


@flaky.handler()
async def fail(ctx: Context, what: str) -> str:
    raise RuntimeError(f"flaky failure: {what}")


app = restate.app(services=[greeter, counter, steps, payment, flaky])
