"""The README's performance table is regenerated from a run's JSON (bench/table.py)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from bench import results, table
from bench.results import Run
from bench.wrk import Result
from node.local import ROOT


def result(requests: int, p50_ms: float, wrong: int = 0) -> Result:
    return Result(requests, 2.0, 0, 50, wrong, (), p50_ms, 2 * p50_ms, 3 * p50_ms)


def peer_run(path: Path, wrong: int = 0) -> Path:
    perdure = Run(
        "perdure",
        rows={
            ("greet", 1): result(800, 1.7),
            ("greet", 64): result(10_562, 11.8),
            ("run3", 64): result(4_126, 29.8, wrong),
        },
        rss_idle=(59.4, 40.0),
        rss_loaded=(140.2, 50.0),
    )
    restate = Run(
        "restate",
        rows={
            ("greet", 1): result(400, 3.3),
            ("greet", 64): result(2_258, 56.2),
            ("run3", 64): result(744, 168.4),
        },
        rss_idle=(259.0, 30.0),
        rss_loaded=(625.0, 35.0),
    )
    settings = {"seconds": 2.0, "concurrency": [1, 64], "workloads": ["greet", "run3"]}
    return results.write(results.document([perdure, restate], result(40_000, 1.0), settings), path)


def test_the_peer_table_shows_throughput_ratio_and_p50_of_both(tmp_path: Path) -> None:
    source = peer_run(tmp_path)
    readme = tmp_path / "README.md"
    readme.write_text(f"# P\n\n## Performance\n\n{table.BEGIN}\nold\n{table.END}\n\n## Next\n")
    assert table.main([str(source), "--readme", str(readme)]) == 0
    text = readme.read_text()
    assert "old" not in text and text.startswith("# P\n") and text.endswith("\n\n## Next\n")
    assert "| greet | 5,281 | 1,129 | 4.7x | 11.8 / 56.2 |" in text
    assert "| run3 (three `ctx.run`) | 2,063 | 372 | 5.5x | 29.8 / 168 |" in text
    prose = " ".join(text.split())  # the block's sentences are wrapped
    assert "at 64 connections" in prose and "2 s per cell" in prose and source.name in prose
    assert "greet's p50 is 1.7 ms against 3.3 ms" in prose
    assert "59 and 259 MB idle, 140 and 625 MB after the load" in prose


def test_a_failed_run_makes_no_table(tmp_path: Path) -> None:
    source = peer_run(tmp_path, wrong=1)
    assert table.main([str(source)]) == 1
    with pytest.raises(table.Error, match="failed run"):
        table.render(json.loads(source.read_text()), "x.json")


def test_a_readme_without_markers_is_left_alone(tmp_path: Path) -> None:
    readme = tmp_path / "README.md"
    readme.write_text("# P\n")
    assert table.main([str(peer_run(tmp_path)), "--readme", str(readme)]) == 1
    assert readme.read_text() == "# P\n"


def test_the_readme_table_is_the_one_generated_from_the_results_it_cites() -> None:
    readme = (ROOT / "README.md").read_text()
    cited = re.search(r"\(\[`(bench/results/[^`]+\.json)`\]", readme)
    assert cited is not None, "the README's performance block cites no bench/results file"
    doc = json.loads((ROOT / cited[1]).read_text())
    assert table.render(doc, cited[1]) in readme
