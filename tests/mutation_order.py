"""A pytest plugin for `make mutate` (loaded by pyproject's `[tool.mutmut]`, nowhere else): run
the tests mutmut selected for a mutant fastest first, by the durations it recorded, so that `-x`
stops at the cheapest failing test. mutmut's fork-server runner passes them in no set order,
and pytest would otherwise run the slow replicated-log tests before the unit tests."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

STATS = Path("mutmut-stats.json")  # mutmut runs the tests from inside mutants/


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    if not STATS.exists():  # the first, instrumented run: it records these durations
        return
    durations: dict[str, float] = json.loads(STATS.read_text())["duration_by_test"]
    items.sort(key=lambda item: durations.get(item.nodeid, 0.0))
