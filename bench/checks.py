"""What a right answer of each workload looks like, and the tally of wrong ones.

A benchmark that counts fast wrong answers as throughput measures nothing, so every cell counts
its errors (no answer, a timeout, a non-2xx status) and judges a sample of its 2xx bodies
against the example services (examples/services.py). A check is a plain function from a reply
to why it is wrong (None when it is right), so the same checks serve wrk's samples, the
asyncio flows and the tests.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field

SAMPLES_KEPT = 5  # described failures kept per cell: enough to see a pattern, short to print


@dataclass(frozen=True, slots=True)
class Reply:
    status: int
    body: bytes

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    def __str__(self) -> str:
        return f"{self.status} {self.body[:200]!r}"


Check = Callable[[Reply], str | None]  # why the reply is wrong, None when it is right


def _json(reply: Reply) -> tuple[object, str | None]:
    try:
        return json.loads(reply.body), None
    except ValueError:
        return None, f"not JSON: {reply}"


def json_equal(expected: object) -> Check:
    """A 2xx answer whose JSON body equals `expected` (greet, run3, a workflow's result)."""

    def check(reply: Reply) -> str | None:
        value, why = _json(reply)
        if why is None and value != expected:
            why = f"expected {json.dumps(expected)}, got {reply}"
        return why

    return check


def count_above(floor: int) -> Check:
    """Counter.add's answer: the new count, an integer above what the key held before."""

    def check(reply: Reply) -> str | None:
        value, why = _json(reply)
        # bool is an int to Python; `true` is not a count.
        if why is None and (type(value) is not int or value <= floor):
            why = f"expected a count above {floor}, got {reply}"
        return why

    return check


def accepted(reply: Reply) -> str | None:
    """A one-way send's answer: 202 with the id of the invocation it started."""
    value, why = _json(reply)
    if why is not None:
        return why
    if reply.status != 202:
        return f"expected 202, got {reply}"
    if not isinstance(value, dict) or not isinstance(value.get("invocationId"), str):
        return f"expected {{'invocationId': ...}}, got {reply}"
    return None if value["invocationId"] else f"empty invocationId: {reply}"


def any_2xx(reply: Reply) -> str | None:
    """Answers whose body carries nothing to check (a workflow's `approve` returns None)."""
    return None


def hot_counter(before: int, after: int, answered: int, in_flight: int) -> str | None:
    """Every answered add of one key was applied exactly once: the count grew by the answered
    adds plus at most the requests still in flight when the load stopped (wrk does not wait
    for them, and the server still runs them)."""
    grown = after - before
    if answered <= grown <= answered + in_flight:
        return None
    return (
        f"the count grew by {grown} ({before} -> {after}) for {answered} answered adds "
        f"and at most {in_flight} in flight"
    )


@dataclass
class Tally:
    """Errors and wrong bodies of one cell, with the first few described."""

    checked: int = 0
    errors: int = 0
    wrong: int = 0
    samples: list[str] = field(default_factory=list)

    def error(self, what: str, count: int = 1) -> None:
        self.errors += count
        self.note(what)

    def judge(self, check: Check, reply: Reply) -> None:
        """Judge one 2xx reply (non-2xx ones are errors, counted where they are seen)."""
        self.checked += 1
        why = check(reply)
        if why is not None:
            self.wrong_answer(why)

    def wrong_answer(self, why: str) -> None:
        self.wrong += 1
        self.note(why)

    def note(self, what: str) -> None:
        """Describe a failure counted elsewhere (kept while there are few, once each)."""
        if len(self.samples) < SAMPLES_KEPT and what not in self.samples:
            self.samples.append(what)
