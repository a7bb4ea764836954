"""The seeded simulation (sim/) as part of the suite: a bounded run of many seeds holds every
invariant, a seed replays exactly in a fresh process, the checks do fail when the system
misbehaves, and a failure says how to replay it.

`make simulate SEEDS=N` runs more seeds; this runs what fits in about 15 s (and
tests/sim/test_node_faults.py a few seeds of each node-level fault).
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from sim import checks, world
from sim.__main__ import _print
from sim.network import Network

ROOT = Path(__file__).resolve().parents[2]
SEEDS = 40
BUDGET_S = 15


def simulate(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "sim", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.fixture(scope="module")
def many_seeds() -> subprocess.CompletedProcess[str]:
    return simulate("--seeds", str(SEEDS), "--budget", str(BUDGET_S))


def digests(output: str) -> dict[int, str]:
    return {int(s): d for s, d in re.findall(r"^seed (\d+): .*digest (\w+)", output, re.M)}


def test_every_seed_holds_the_invariants(many_seeds: subprocess.CompletedProcess[str]) -> None:
    assert many_seeds.returncode == 0, many_seeds.stdout[-6000:] + many_seeds.stderr[-3000:]
    assert len(digests(many_seeds.stdout)) >= 10, many_seeds.stdout


def test_a_seed_replays_exactly_in_a_new_process(
    many_seeds: subprocess.CompletedProcess[str],
) -> None:
    ran = digests(many_seeds.stdout)
    for seed in (3, 7):
        again = simulate("--seed", str(seed))
        assert digests(again.stdout) == {seed: ran[seed]}, again.stdout


# Known bugs that only hostile seeds show, each checked by its own test there.
SHOWN_ELSEWHERE: dict[str, str] = {}


def test_every_known_bug_still_shows(many_seeds: subprocess.CompletedProcess[str]) -> None:
    # When one no longer shows, it was fixed: drop it from sim.checks.KNOWN (and its xfail).
    for kind in checks.KNOWN.keys() - SHOWN_ELSEWHERE.keys():
        assert f"[{kind}, known" in many_seeds.stdout, f"{kind} did not occur in any seed"


def test_a_network_that_loses_messages_fails_the_run(monkeypatch: pytest.MonkeyPatch) -> None:
    async def lose(self: Network, target: int, records: list[object], node: int) -> None:
        return None  # says delivered, appends nothing: a broken Deliverer

    monkeypatch.setattr(Network, "deliver", lose)
    report = world.simulate(0)
    kinds = {v.kind for v in report.unknown()}
    assert {"not-quiet", "not-completed"} <= kinds, report.violations


def test_a_failure_prints_its_seed_and_how_to_replay_it(capsys: pytest.CaptureFixture[str]) -> None:
    report = world.Report(1234, "a plan", "d1g3st")
    report.violations.append(checks.Violation("counter", "counter c1 is 3, expected 4"))
    report.trace_tail = ["   1.000000 crash g0m1#1"]
    _print(report, 0.5, verbose=False, strict=False)
    out = capsys.readouterr().out
    assert "seed 1234: FAILED digest d1g3st" in out
    assert "[counter] counter c1 is 3, expected 4" in out
    assert "crash g0m1#1" in out
    assert "make simulate SEED=1234" in out and "python -m sim --seed 1234" in out
