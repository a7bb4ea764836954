"""Reading wrk's output under bench/load.lua: errors counted, sampled bodies judged."""

from __future__ import annotations

import json

from bench import checks, wrk

COUNTS = {"requests": 1000, "duration_us": 2_000_000, "p50_us": 1500, "p90_us": 3000}


def output(samples: list[bytes], bad: list[bytes] = [], **counts: int) -> str:  # noqa: B006
    data = {"non2xx": 0, "connect": 0, "read": 0, "write": 0, "timeout": 0, "p99_us": 9000}
    data.update(COUNTS, **counts)
    lines = ["Running 2s test @ http://127.0.0.1:1"]
    lines += [f"WRKSAMPLE {s.hex()}" for s in samples]
    lines += [f"WRKBAD {s.hex()}" for s in bad]
    return "\n".join([*lines, "WRKJSON " + json.dumps(data), "Requests/sec: 500"])


GREET = checks.json_equal("Hello, bench!")


def test_a_clean_run_has_its_samples_checked_and_no_failure() -> None:
    result = wrk.parse(output([b'200 "Hello, bench!"'] * 3), GREET)
    assert (result.requests, result.errors, result.checked, result.wrong) == (1000, 0, 3, 0)
    assert (result.rps, result.p50_ms, result.p99_ms) == (500.0, 1.5, 9.0)


def test_a_wrong_body_is_counted_and_described() -> None:
    result = wrk.parse(output([b'200 "Hello, bench!"', b'200 "Hello, nobody!"']), GREET)
    assert (result.errors, result.checked, result.wrong) == (0, 2, 1)
    assert result.samples == ("""expected "Hello, bench!", got 200 b'"Hello, nobody!"'""",)


def test_non_2xx_answers_and_socket_errors_are_errors_with_samples() -> None:
    out = output(
        [b'200 "Hello, bench!"', b'404 {"code":404}'],
        bad=[b'404 {"code":404}'],
        non2xx=7,
        timeout=2,
    )
    result = wrk.parse(out, GREET)
    # The sampled 404 is an error, not also a wrong body.
    assert (result.errors, result.checked, result.wrong) == (9, 1, 0)
    assert result.samples == (
        "2 socket timeout errors",
        "7 non-2xx answers, the first:",
        "404 b'{\"code\":404}'",
    )
