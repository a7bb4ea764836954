"""A cell measured in rounds (`make bench` interleaves systems) adds up to one result."""

from __future__ import annotations

import pytest

from bench import results, wrk
from bench.__main__ import Part, combine


def part(requests: int, seconds: float, p99: float, server_ms: float, busy: float) -> Part:
    result = wrk.Result(requests, seconds, 1, requests, 0, ("x",), p99 / 2, p99 / 1.5, p99)
    return Part(result, results.Cpu(server_ms, server_ms / 4, busy), None)


def test_rounds_add_up_weighting_cpu_by_requests_and_busy_by_time() -> None:
    whole = combine([part(1000, 2.0, 50.0, 1.0, 0.5), part(3000, 2.0, 40.0, 2.0, 1.0)])
    r = whole.result
    assert (r.requests, r.seconds, r.errors, r.checked, r.samples) == (
        4000,
        4.0,
        2,
        4000,
        ("x", "x"),
    )
    assert r.rps == 1000.0
    assert r.p99_ms == 50.0  # the worse round's percentile
    assert whole.cpu.server_ms == pytest.approx((1000 * 1.0 + 3000 * 2.0) / 4000)
    assert whole.cpu.busy == pytest.approx(0.75)
    assert whole.drain_s is None


def test_the_longest_drain_is_kept() -> None:
    a, b = part(10, 1.0, 1.0, 1.0, 1.0), part(10, 1.0, 1.0, 1.0, 1.0)
    whole = combine([Part(a.result, a.cpu, 0.2), Part(b.result, b.cpu, 0.5)])
    assert whole.drain_s == 0.5
