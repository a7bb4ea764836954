"""How long each fuzzer runs, and running a hypothesis test for that long with known seeds.

`make test` gives each fuzzer a few seconds (`DEFAULT_SECONDS`); `make fuzz SECONDS=N` sets
`PERDURE_FUZZ_SECONDS` for longer runs. A run is rounds of `EXAMPLES_PER_ROUND` examples, round
`i` seeded with `i`, until the budget is spent: a failure names its round's seed, and the same
seed replays it (`PERDURE_FUZZ_SEED=i`)."""

from __future__ import annotations

import os
import time
from collections.abc import Callable

from hypothesis import HealthCheck, Phase, seed, settings

DEFAULT_SECONDS = 3.0
EXAMPLES_PER_ROUND = 40


def seconds() -> float:
    return float(os.environ.get("PERDURE_FUZZ_SECONDS") or DEFAULT_SECONDS)


FUZZ_SETTINGS = settings(
    max_examples=EXAMPLES_PER_ROUND,
    deadline=None,
    database=None,  # no example database: a run depends on its seed only
    derandomize=False,
    suppress_health_check=list(HealthCheck),
    phases=(Phase.explicit, Phase.generate, Phase.shrink),
    print_blob=False,
)


def run_rounds(test: Callable[[], None], share: float = 1.0) -> int:
    """Run the hypothesis test `test` (decorated with @given and FUZZ_SETTINGS) round after
    round until `share` of the budget is spent; returns the rounds run (at least one)."""
    only = os.environ.get("PERDURE_FUZZ_SEED")
    if only is not None:
        seed(int(only))(test)()
        return 1
    deadline = time.monotonic() + seconds() * share
    rounds = 0
    while rounds == 0 or time.monotonic() < deadline:
        try:
            seed(rounds)(test)()
        except BaseException as exc:
            exc.add_note(f"fuzz round seed {rounds}: replay with PERDURE_FUZZ_SEED={rounds}")
            raise
        rounds += 1
    return rounds


def random_rounds(body: Callable[[int], None]) -> int:
    """Call `body(seed)` with seeds 0, 1, ... until the budget is spent (a seeded generator's
    fuzzer); a failure names its seed, which `PERDURE_FUZZ_SEED` replays."""
    only = os.environ.get("PERDURE_FUZZ_SEED")
    if only is not None:
        body(int(only))
        return 1
    deadline = time.monotonic() + seconds()
    n = 0
    while n == 0 or time.monotonic() < deadline:
        try:
            body(n)
        except BaseException as exc:
            exc.add_note(f"fuzz seed {n}: replay with PERDURE_FUZZ_SEED={n}")
            raise
        n += 1
    return n
