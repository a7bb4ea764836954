"""Drive closed-loop HTTP load with wrk (a C load generator, so it is not the bottleneck), read
its counts and latency percentiles back, and judge the replies it sampled (bench/load.lua)."""

from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import dataclass, replace
from pathlib import Path

from bench.checks import Check, Reply, Tally

SCRIPT = Path(__file__).with_name("load.lua")
SOCKET_ERRORS = ("connect", "read", "write", "timeout")


@dataclass(frozen=True, slots=True)
class Result:
    """One cell: how much was answered, how fast, and what went wrong."""

    requests: int
    seconds: float
    errors: int  # no answer (socket errors, timeouts) or a non-2xx one
    checked: int  # 2xx bodies judged
    wrong: int  # judged bodies that were wrong, and failed checks after the load
    samples: tuple[str, ...]  # the first few errors and wrong bodies, described
    p50_ms: float
    p90_ms: float
    p99_ms: float

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def with_wrong(self, why: str) -> Result:
        """This result failing one more check, done after the load (counts, drains)."""
        return replace(self, wrong=self.wrong + 1, samples=(*self.samples, why))


def available() -> bool:
    return shutil.which("wrk") is not None


def _reply(hex_line: str) -> Reply:
    status, _, body = bytes.fromhex(hex_line).partition(b" ")
    return Reply(int(status), body)


def _lines(out: str, tag: str) -> list[str]:
    return [line[len(tag) + 1 :] for line in out.splitlines() if line.startswith(tag + " ")]


def parse(out: str, check: Check) -> Result:
    """A Result from wrk's output under bench/load.lua, its sampled 2xx replies judged."""
    found = _lines(out, "WRKJSON")
    if not found:
        raise RuntimeError(f"wrk printed no WRKJSON line (bench/load.lua):\n{out[-2000:]}")
    data: dict[str, int] = json.loads(found[0])
    tally = Tally()
    for kind in SOCKET_ERRORS:
        if data[kind]:
            tally.error(f"{data[kind]} socket {kind} errors", data[kind])
    if data["non2xx"]:
        tally.error(f"{data['non2xx']} non-2xx answers, the first:", data["non2xx"])
    for line in _lines(out, "WRKBAD"):
        tally.note(str(_reply(line)))
    for line in _lines(out, "WRKSAMPLE"):
        reply = _reply(line)
        if reply.ok:
            tally.judge(check, reply)
    return Result(
        requests=data["requests"],
        seconds=data["duration_us"] / 1e6,
        errors=tally.errors,
        checked=tally.checked,
        wrong=tally.wrong,
        samples=tuple(tally.samples),
        p50_ms=data["p50_us"] / 1000,
        p90_ms=data["p90_us"] / 1000,
        p99_ms=data["p99_us"] / 1000,
    )


def run(
    url: str,
    path: str,
    body: str,
    connections: int,
    seconds: float,
    check: Check,
    random_key: bool = False,
    threads: int = 1,
) -> Result:
    args = [
        "wrk",
        f"-t{min(threads, connections)}",
        f"-c{connections}",
        f"-d{max(1, round(seconds))}s",
        "--timeout",
        "30s",
        "-s",
        str(SCRIPT),
        url,
        "--",
        path,
        body,
        "1" if random_key else "0",
    ]
    out = subprocess.run(
        args, capture_output=True, text=True, timeout=seconds + 60, check=True
    ).stdout
    return parse(out, check)
