"""The verdict of a `make bench` run: any error or wrong body makes it exit non-zero."""

from __future__ import annotations

import json
from pathlib import Path

from bench import results
from bench.results import Run
from bench.wrk import Result


def result(
    errors: int = 0, wrong: int = 0, checked: int = 100, samples: tuple[str, ...] = ()
) -> Result:
    return Result(1000, 2.0, errors, checked, wrong, samples, 1.0, 2.0, 3.0)


def document(perdure: Result, peer: Result | None = None) -> results.Document:
    runs = [Run("perdure", rows={("greet", 1): result(), ("greet", 64): perdure}, drains={})]
    if peer is not None:
        runs.append(Run("restate", rows={("greet", 1): result(), ("greet", 64): peer}))
    settings = {"seconds": 2.0, "concurrency": [1, 64], "workloads": ["greet"], "peer": None}
    return results.document(runs, result(), settings)


def test_a_run_without_errors_or_wrong_bodies_exits_zero() -> None:
    doc = document(result())
    assert doc["failures"] == []
    assert results.exit_status(doc) == 0


def test_errors_make_the_run_exit_non_zero_naming_the_cell_and_a_sample() -> None:
    doc = document(result(errors=3, samples=("3 non-2xx answers, the first:", "500 b'boom'")))
    assert results.exit_status(doc) == 1
    [failure] = doc["failures"]
    assert failure.startswith("perdure greet c=64: 3 errors")
    assert "500 b'boom'" in failure


def test_wrong_bodies_of_the_peer_fail_the_run_too() -> None:
    doc = document(result(), peer=result(wrong=1, samples=("expected 7, got 200 b'8'",)))
    assert results.exit_status(doc) == 1
    assert doc["failures"][0].startswith("restate greet c=64: 0 errors (non-2xx, socket errors")


def test_answers_that_no_check_looked_at_fail_the_run() -> None:
    doc = document(result(checked=0))
    assert results.exit_status(doc) == 1
    assert doc["failures"] == ["perdure greet c=64: 1000 answers and none checked"]


def test_the_verdict_is_read_back_from_the_written_file(tmp_path: Path) -> None:
    path = results.write(document(result(wrong=2)), tmp_path)
    written = json.loads(path.read_text())
    assert json.loads((tmp_path / "latest.json").read_text()) == written
    assert path.name.endswith("Z.json")
    assert results.exit_status(written) == 1
    cell = written["systems"][0]["cells"][1]
    assert (cell["workload"], cell["concurrency"], cell["throughput_rps"]) == ("greet", 64, 500.0)
    assert {"commit", "dirty"} <= set(written["git"]) and written["machine"]["cpus"] >= 1
