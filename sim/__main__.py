"""`python -m sim --seed 1234` replays one seed; `python -m sim --seeds 100` runs seeds 0..99
(`--from S` to start elsewhere, `--budget S` to stop starting new seeds after S seconds of wall
time, `--kind K` to run only seeds whose plan injects node-level fault K: node-crash,
restart-all, partition, partial-cut, membership; `--hostile` for plans with 3 nodes and every
node-level fault, often); `--twice` runs each seed twice and fails when the two runs differ
(their trace digests).

Runs under PYTHONHASHSEED=0 (the process re-executes itself to get it), so that nothing a run
does depends on string hashing. Exit status 1 when any seed fails; each failure prints its seed,
the command that replays it, its violations and the end of its trace.
"""

from __future__ import annotations

import argparse
import itertools
import logging
import os
import sys
import time
import traceback
from collections.abc import Iterable, Iterator

from sim import faults
from sim.checks import Violation
from sim.world import Report, plan_of, simulate

HASH_SEED = "0"
KINDS = sorted(faults.KINDS)


def main(argv: list[str] | None = None) -> int:
    if os.environ.get("PYTHONHASHSEED") != HASH_SEED:
        env = dict(os.environ, PYTHONHASHSEED=HASH_SEED)
        command = [sys.executable, "-m", "sim", *(sys.argv[1:] if argv is None else argv)]
        os.execve(sys.executable, command, env)
    parser = argparse.ArgumentParser(prog="python -m sim", description=__doc__)
    parser.add_argument("--seed", type=int, help="run this one seed")
    parser.add_argument("--seeds", type=int, default=1, help="how many seeds to run")
    parser.add_argument("--from", dest="first", type=int, default=0, help="the first seed")
    parser.add_argument("--budget", type=float, default=0.0, help="wall seconds (0: no limit)")
    parser.add_argument("--kind", choices=KINDS, help="only seeds that inject this fault")
    parser.add_argument("--twice", action="store_true", help="run each seed twice, compare")
    parser.add_argument(
        "--strict", action="store_true", help="fail on violations of known bugs too"
    )
    parser.add_argument("--verbose", "-v", action="store_true", help="log what the nodes log")
    parser.add_argument(
        "--append-all",
        action="store_true",
        help="deliver as node/backend.py append_all does in some seeds (a known bug)",
    )
    parser.add_argument(
        "--hostile", action="store_true", help="3 nodes and every node-level fault, often"
    )
    parser.add_argument("--grep", help="print every trace event that contains this text")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.CRITICAL)
    seeds: Iterable[int] = [args.seed] if args.seed is not None else range(args.first, 1 << 31)
    if args.kind is not None:
        seeds = _with_kind(seeds, args.kind, args.append_all, args.hostile)
    if args.seed is None:
        seeds = itertools.islice(seeds, args.seeds)
    started = time.monotonic()
    failed = ran = known = 0
    for seed in seeds:
        if args.budget and ran and time.monotonic() - started > args.budget:
            break
        t0 = time.monotonic()
        try:
            report = simulate(
                seed,
                whole_trace=args.grep is not None,
                append_all=args.append_all,
                hostile=args.hostile,
            )
        except Exception:  # the simulation itself broke: still a failure of this seed
            traceback.print_exc()
            print(f"seed {seed}: the simulation failed; replay: {_replay(seed, args.hostile)}")
            ran += 1
            failed += 1
            continue
        if args.grep is not None:
            for line in report.trace_tail:
                if args.grep in line:
                    print(line)
        if args.twice:
            again = simulate(seed, append_all=args.append_all, hostile=args.hostile)
            if again.digest != report.digest:
                text = f"a second run has trace digest {again.digest}, the first {report.digest}"
                report.violations.append(Violation("nondeterministic", text))
        ran += 1
        _print(report, time.monotonic() - t0, args.verbose or args.seed is not None, args.strict)
        failed += not report.ok(args.strict)
        known += bool(report.violations) and report.ok()
    elapsed = time.monotonic() - started
    print(
        f"{ran} seeds in {elapsed:.1f} s ({ran / elapsed:.1f}/s), {failed} failed, "
        f"{known} with violations of known bugs only"
    )
    return 1 if failed else 0


def _with_kind(seeds: Iterable[int], kind: str, append_all: bool, hostile: bool) -> Iterator[int]:
    return (s for s in seeds if kind in plan_of(s, append_all, hostile).kinds())


def _print(report: Report, wall_s: float, verbose: bool, strict: bool) -> None:
    ok = report.ok(strict)
    status = "FAILED" if not ok else "known bugs only" if report.violations else "ok"
    print(
        f"seed {report.seed}: {status} digest {report.digest} ({report.records} records, "
        f"{report.invocations} invocations, {report.virtual_s:.0f} s simulated, {wall_s:.2f} s)"
    )
    if verbose or report.violations:
        print(f"  plan: {report.plan}")
    for violation in report.violations[:20]:
        print(f"  violation: {violation}")
    if ok:
        return
    print("  last events:")
    for line in report.trace_tail[-40:]:
        print(f"    {line}")
    print(f"  replay: {_replay(report.seed, report.hostile)}")


def _replay(seed: int, hostile: bool = False) -> str:
    if hostile:
        return f"python -m sim --hostile --seed {seed}"
    return f"make simulate SEED={seed}  (or: python -m sim --seed {seed})"


if __name__ == "__main__":
    sys.exit(main())
