"""`make mutate`: mutation testing of the durability core, and its report.

Runs mutmut afresh (the previous `mutants/` is removed) over the modules listed in
pyproject.toml's `[tool.mutmut]`, with the tests listed there, then writes
`docs/mutation-report.md` from the results: per module the mutants killed, surviving, timed out
and without a covering test, and every mutant that was not killed next to its explanation from
`docs/mutation-survivors.toml`. A survivor is explained there by its function and the line(s)
the mutation changed, not by mutmut's number for it, so an explanation outlives edits elsewhere
in the module. The same file lists the tests written to kill mutants, which the report checks
against the run.

Exits 1 when a mutant that was not killed has no explanation (or an explanation or a listed
kill no longer matches the run): kill it with a test, or say in the survivors file why no test
can tell it from the original. `--report-only` rewrites the report from the last run's
`mutants/` without running mutmut again.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import shutil
import subprocess
import sys
import time
import tomllib
from collections import Counter
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

from mutmut.mutation.diff_apply import get_diff_for_mutant

ROOT = Path(__file__).resolve().parents[1]
MUTANTS = ROOT / "mutants"
MUTMUT = ROOT / ".venv" / "bin" / "mutmut"
RUN_INFO = MUTANTS / "perdure-run.json"
SURVIVORS = ROOT / "docs" / "mutation-survivors.toml"
REPORT = ROOT / "docs" / "mutation-report.md"
WORKERS = 2

# mutmut's exit codes per mutant (mutmut/stats.py), folded into the report's columns.
STATUS_BY_EXIT_CODE = {
    1: "killed",
    3: "killed",
    0: "survived",
    5: "no tests",
    33: "no tests",
    36: "timeout",
    24: "timeout",
    -24: "timeout",
    152: "timeout",
    255: "timeout",
}
COLUMNS = ("killed", "survived", "no tests", "timeout", "other")
# A mutant that made its tests run past mutmut's time limit was told apart from the original
# (mutmut's own score counts it with the killed ones).
DETECTED = ("killed", "timeout")


@dataclass(frozen=True, slots=True)
class Mutant:
    name: str  # mutmut's, e.g. log.journal.xǁDurableJournalǁadd__mutmut_3
    module: str  # log/journal.py
    status: str

    @property
    def function(self) -> str:
        """Readable dotted name of the mutated function: log.journal.DurableJournal.add."""
        module = module_dotted(self.module)
        mangled = self.name.rsplit("__mutmut_", 1)[0].removeprefix(module + ".")
        if mangled.startswith("xǁ"):
            cls, _, func = mangled[2:].partition("ǁ")
            return f"{module}.{cls}.{func}"
        return f"{module}.{mangled.removeprefix('x_')}"


@dataclass(slots=True)
class Entry:
    """One `[[explained]]` or `[[killed]]` entry of the survivors file: one or more mutations of
    one function, and why they survive or which test kills them."""

    function: str
    mutations: list[str]
    text: str  # the explanation, or the test that kills them
    matched: dict[str, list[Mutant]] = field(default_factory=dict)  # by mutation

    def describe(self) -> list[str]:
        lines = [f"- `{self.function}`: {self.text}"]
        for mutation in self.mutations:
            found = self.matched.get(mutation, [])
            status = ", ".join(sorted(m.status for m in found)) or "not generated"
            lines.append(f"  - {code_block(mutation)} ({status})")
        return lines


def module_dotted(path: str) -> str:
    return path.removesuffix(".py").replace("/", ".")


def normalise(code: str) -> str:
    return "\n".join(line.strip() for line in code.strip().splitlines())


def run_mutmut() -> float:
    """A fresh run on `WORKERS` processes; returns its wall time in seconds."""
    shutil.rmtree(MUTANTS, ignore_errors=True)
    MUTANTS.mkdir()
    log_path = MUTANTS / "mutmut-run.log"
    print(f"mutmut run on {WORKERS} processes (progress in {log_path.relative_to(ROOT)})")
    started = time.monotonic()
    with log_path.open("wb") as log:
        code = subprocess.call(
            [str(MUTMUT), "run", "--max-children", str(WORKERS)],
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    seconds = time.monotonic() - started
    if code != 0:
        sys.exit(f"mutmut run failed with exit status {code}; see {log_path}")
    RUN_INFO.write_text(
        json.dumps(
            {
                "seconds": round(seconds),
                "finished": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
            }
        )
    )
    return seconds


def load_mutants(modules: list[str]) -> list[Mutant]:
    mutants = []
    for module in modules:
        meta_path = MUTANTS / (module + ".meta")
        if not meta_path.exists():
            sys.exit(f"{meta_path} is missing: run `make mutate` first")
        meta = json.loads(meta_path.read_text())
        for name, code in meta["exit_code_by_key"].items():
            status = "not checked" if code is None else STATUS_BY_EXIT_CODE.get(code, "other")
            mutants.append(Mutant(name, module, status))
    return mutants


def mutation_of(mutant: Mutant) -> str:
    """The line(s) the mutant puts in place of the original (the `+` lines of its diff)."""
    diff = get_diff_for_mutant(mutant.name, path=mutant.module)  # reads mutants/, from ROOT
    added = [
        line[1:] for line in diff.splitlines() if line.startswith("+") and not line.startswith("++")
    ]
    return normalise("\n".join(added))


def load_entries(kind: str) -> list[Entry]:
    data = tomllib.loads(SURVIVORS.read_text()) if SURVIVORS.exists() else {}
    key = "why" if kind == "explained" else "test"
    entries = []
    for e in data.get(kind, []):
        mutations = [e["mutation"]] if isinstance(e["mutation"], str) else e["mutation"]
        entries.append(Entry(e["function"], [normalise(m) for m in mutations], e[key]))
    return entries


def table(mutants: list[Mutant], modules: list[str]) -> list[str]:
    lines = [
        "| module | mutants | killed | survived | no tests | timeout | other |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    totals: Counter[str] = Counter()
    for module in modules:
        counts = Counter(
            m.status if m.status in COLUMNS else "other" for m in mutants if m.module == module
        )
        total = sum(counts.values())
        totals.update(counts)
        totals["all"] += total
        lines.append(
            f"| `{module}` | {total} | " + " | ".join(str(counts[c]) for c in COLUMNS) + " |"
        )
    lines.append(f"| all | {totals['all']} | " + " | ".join(str(totals[c]) for c in COLUMNS) + " |")
    return lines


def code_block(text: str) -> str:
    return "`" + text.replace("\n", " ⏎ ") + "`"


def write_report(
    mutants: list[Mutant],
    modules: list[str],
    explained: list[Entry],
    killed: list[Entry],
    unexplained: list[tuple[Mutant, str]],
    stale: list[str],
    run: dict[str, object],
    tests: list[str],
) -> None:
    seconds = int(str(run.get("seconds", 0)))
    lines = [
        "# Mutation testing report",
        "",
        "Generated by `make mutate` (`scripts/mutate.py`) from its last run; explanations and the",
        "list of tests written to kill mutants come from `docs/mutation-survivors.toml`.",
        "",
        f"- tool: mutmut {metadata.version('mutmut')} (Python {platform.python_version()}),"
        f" {WORKERS} worker processes",
        f"- run finished: {run.get('finished', '?')}; wall time"
        f" {seconds // 60} min {seconds % 60} s (a 2-core machine, shared with other work)",
        "- tests run against each mutant: "
        + ", ".join(f"`{t}`" for t in tests)
        + " (only those that cover the mutated function)",
        "",
        "## Why mutmut",
        "",
        "mutmut 3 runs, for each mutant, only the tests that called the mutated function in a",
        "first instrumented run, and switches mutants on and off inside one copy of the code (no",
        "rewrite and re-import per mutant), so ~1,300 mutants against real RocksDB and pysyncobj",
        "tests fit in well under 30 minutes on two cores. It is the most used of the three",
        "candidates; cosmic-ray runs a whole test command per mutant (about 25 s for this test",
        "selection: hours for the run); pytest-gremlins promises the same test selection but is",
        "far younger and less used. mutmut, tried first, copes with the flat layout once whole",
        "packages are copied (`source_paths`) and only the target files mutated (`only_mutate`).",
        "Mutants are forked from a server that has only collected the tests",
        '(`process_isolation = "forkserver"`): forking the process that ran them deadlocks the',
        "first RocksDB open in the child (every such mutant timed out).",
        "",
        "## Per module",
        "",
        *table(mutants, modules),
        "",
        "`no tests`: no selected test calls the function; `timeout`: the tests ran past mutmut's",
        "time limit, so the mutant was detected (mutmut scores these with the killed ones);",
        "`other`: suspicious or crashed.",
        "",
        "## Mutants killed by tests written for them",
        "",
        'Each test below failed against the mutants listed under it when it was written. "not',
        'generated": the function has changed since, so this run has no such mutant; the test',
        "stays, and the new mutants of the function are in the counts above.",
        "",
    ]
    for entry in killed:
        lines += entry.describe()
    lines += ["", "## Surviving mutants, explained", ""]
    for entry in explained:
        if entry.matched:
            lines += entry.describe()
    unused = [e for e in explained if not e.matched]
    if unused:
        lines += ["", "## Explanations that matched no surviving mutant in this run", ""]
        for entry in unused:
            lines += entry.describe()
    if unexplained or stale:
        lines += ["", "## Not yet explained", ""]
        lines += [
            f"- `{m.name}` ({m.status}): {code_block(mutation)}" for m, mutation in unexplained
        ]
        lines += [f"- {problem}" for problem in stale]
    REPORT.parent.mkdir(exist_ok=True)
    REPORT.write_text("\n".join(lines) + "\n")


def main() -> int:
    os.chdir(ROOT)  # mutmut reads its configuration and mutants/ from the working directory
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--report-only", action="store_true", help="do not run mutmut again")
    args = parser.parse_args()
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["mutmut"]
    modules: list[str] = config["only_mutate"]
    if not args.report_only:
        run_mutmut()
    run = json.loads(RUN_INFO.read_text()) if RUN_INFO.exists() else {}
    mutants = load_mutants(modules)
    explained, killed = load_entries("explained"), load_entries("killed")
    by_key = {(e.function, m): e for e in [*explained, *killed] for m in e.mutations}
    unexplained: list[tuple[Mutant, str]] = []
    for mutant in mutants:
        if mutant.status in DETECTED:
            function_killed = [e for e in killed if e.function == mutant.function]
            if not function_killed:
                continue
        mutation = mutation_of(mutant)
        entry = by_key.get((mutant.function, mutation))
        if entry is not None:
            entry.matched.setdefault(mutation, []).append(mutant)
        elif mutant.status not in DETECTED:
            unexplained.append((mutant, mutation))
    # A listed kill the code no longer produces (the function changed) is only reported; one
    # that is produced but not killed fails the run.
    stale = [
        f"listed kill of `{e.function}`: {code_block(m)} was not killed in this run"
        for e in killed
        for m in e.mutations
        if any(x.status not in DETECTED for x in e.matched.get(m, []))
    ]
    write_report(
        mutants,
        modules,
        explained,
        killed,
        unexplained,
        stale,
        run,
        config["pytest_add_cli_args_test_selection"],
    )
    counts = Counter(m.status for m in mutants)
    print(f"{len(mutants)} mutants: " + ", ".join(f"{n} {s}" for s, n in counts.most_common()))
    print(f"report: {REPORT.relative_to(ROOT)}")
    if unexplained or stale:
        for mutant, mutation in unexplained:
            print(f"unexplained: {mutant.name} ({mutant.status}): {mutation}")
        for problem in stale:
            print(problem)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
