"""The raw results of a `make bench` run as one JSON document, and its verdict.

Every run writes bench/results/<UTC time>.json and a copy, bench/results/latest.json (ignored by
git). A timestamped file is what gets committed when the README's table is generated from it
(bench/table.py), so the figures published can be traced to a run, a commit and a machine.

The verdict is read from the document itself (`failures`), so what decides the exit status is
exactly what was recorded.
"""

from __future__ import annotations

import datetime
import json
import os
import platform
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil

from bench.wrk import Result
from node.local import ROOT

RESULTS_DIR = ROOT / "bench" / "results"
Document = dict[str, Any]  # the JSON document, as json.load returns it


@dataclass(frozen=True, slots=True)
class Cpu:
    """A cell's CPU cost: ms of CPU per answered request, and how busy the machine was."""

    server_ms: float
    deployment_ms: float
    busy: float  # fraction of all cores, 0..1


@dataclass
class Run:
    """The results of one system under test."""

    label: str
    rows: dict[tuple[str, int], Result] = field(default_factory=dict)
    drains: dict[int, float] = field(default_factory=dict)  # send's, by concurrency
    cpu: dict[tuple[str, int], Cpu] = field(default_factory=dict)
    startup_s: float = 0.0
    rss_idle: tuple[float, float] = (0.0, 0.0)  # MB: (server, deployment)
    rss_loaded: tuple[float, float] = (0.0, 0.0)


def cell(
    workload: str,
    concurrency: int,
    result: Result,
    drain_s: float | None = None,
    cpu: Cpu | None = None,
) -> Document:
    return {
        "workload": workload,
        "concurrency": concurrency,
        "requests": result.requests,
        "seconds": round(result.seconds, 3),
        "throughput_rps": round(result.rps, 1),
        "errors": result.errors,
        "checked": result.checked,
        "wrong": result.wrong,
        "samples": list(result.samples),
        "p50_ms": round(result.p50_ms, 3),
        "p90_ms": round(result.p90_ms, 3),
        "p99_ms": round(result.p99_ms, 3),
        "drain_s": None if drain_s is None else round(drain_s, 3),
        "cpu": None
        if cpu is None
        else {
            "server_ms_per_request": round(cpu.server_ms, 3),
            "deployment_ms_per_request": round(cpu.deployment_ms, 3),
            "machine_busy": round(cpu.busy, 3),
        },
    }


def _mb(pair: tuple[float, float]) -> Document:
    return {"server": round(pair[0], 1), "deployment": round(pair[1], 1)}


def system(run: Run) -> Document:
    return {
        "label": run.label,
        "startup_s": round(run.startup_s, 3),
        "rss_mb": {"idle": _mb(run.rss_idle), "loaded": _mb(run.rss_loaded)},
        "cells": [
            cell(w, c, r, run.drains.get(c) if w == "send" else None, run.cpu.get((w, c)))
            for (w, c), r in run.rows.items()
        ],
    }


def machine() -> Document:
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cpus": os.cpu_count(),
        "cpu_model": model,
        "memory_mb": round(psutil.virtual_memory().total / 2**20),
        "platform": platform.platform(),
        "python": platform.python_version(),
    }


def git() -> Document:
    def out(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True)

    commit = out("rev-parse", "HEAD")
    return {
        "commit": commit.stdout.strip() if commit.returncode == 0 else None,
        # Tracked files differing from the commit: the figures may not be the commit's.
        "dirty": out("diff", "--quiet", "HEAD").returncode != 0,
    }


def document(runs: list[Run], baseline: Result, settings: Document) -> Document:
    doc: Document = {
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "git": git(),
        "machine": machine(),
        "settings": settings,
        "systems": [system(run) for run in runs],
        "baseline": cell("asyncio echo", 64, baseline),
    }
    doc["failures"] = failures(doc)
    return doc


def _cell_failures(label: str, c: Document) -> list[str]:
    where = f"{label} {c['workload']} c={c['concurrency']}"
    found = []
    if c["errors"] or c["wrong"]:
        found.append(
            f"{where}: {c['errors']} errors (non-2xx, socket errors, timeouts), "
            f"{c['wrong']} wrong ({c['checked']} answers checked)"
            + "".join(f"\n    {sample}" for sample in c["samples"])
        )
    elif c["requests"] and not c["checked"]:
        # Answers came back but none was judged: the checking itself is broken.
        found.append(f"{where}: {c['requests']} answers and none checked")
    return found


def failures(doc: Document) -> list[str]:
    """What was wrong in the run, one entry per failed cell (a line, then a few samples);
    empty when all was right."""
    found = []
    for run in doc["systems"]:
        for c in run["cells"]:
            found += _cell_failures(run["label"], c)
    return found + _cell_failures("reference", doc["baseline"])


def exit_status(doc: Document) -> int:
    return 1 if failures(doc) else 0


def write(doc: Document, directory: Path = RESULTS_DIR) -> Path:
    """Write the run to <directory>/<UTC time>.json and latest.json; the timestamped path."""
    directory.mkdir(parents=True, exist_ok=True)
    stamp = doc["date"].replace(":", "-").replace("+00-00", "Z")
    text = json.dumps(doc, indent=1) + "\n"
    path = directory / f"{stamp}.json"
    path.write_text(text)
    (directory / "latest.json").write_text(text)
    return path
