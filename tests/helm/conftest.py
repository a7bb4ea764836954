"""The chart's tests need helm (fetched by scripts/install_helm.sh) and kubernetes-validate."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from node.local import ROOT

CHART = ROOT / "helm" / "perdure"
KUBE_VERSION = "1.32.0"

Render = Callable[..., list[dict[str, Any]]]


@pytest.fixture(scope="session")
def helm(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    """The helm command, with its caches and config in a temporary directory."""
    done = subprocess.run(
        [str(ROOT / "scripts" / "install_helm.sh")], capture_output=True, text=True, timeout=300
    )
    if done.returncode != 0:
        pytest.skip(f"helm could not be fetched (scripts/install_helm.sh): {done.stderr.strip()}")
    home = tmp_path_factory.mktemp("helm-home")
    for name in ("HELM_CACHE_HOME", "HELM_CONFIG_HOME", "HELM_DATA_HOME"):
        os.environ[name] = str(home / name.lower())
    return [done.stdout.strip().splitlines()[-1]]


@pytest.fixture(scope="session")
def render(helm: list[str]) -> Render:
    """`render(*values_files, **sets)`: the chart's objects as `helm template` renders them."""

    def run(*values: str, namespace: str = "perdure", **sets: object) -> list[dict[str, Any]]:
        args = [*helm, "template", "p", str(CHART), "--namespace", namespace]
        args += ["--kube-version", KUBE_VERSION]
        for name in values:
            args += ["-f", str(CHART / name)]
        for key, value in sets.items():
            args += ["--set", f"{key.replace('__', '.')}={value}"]
        done = subprocess.run(args, capture_output=True, text=True, timeout=60, check=True)
        return [doc for doc in yaml.safe_load_all(done.stdout) if doc]

    return run


def kubernetes_validate() -> str:
    found = shutil.which("kubernetes-validate", path=str(Path(sys.executable).parent))
    if found is None:
        pytest.skip("kubernetes-validate is not installed (make install installs it)")
    return found


def one(objects: list[dict[str, Any]], kind: str, name: str | None = None) -> dict[str, Any]:
    found = [
        o for o in objects if o["kind"] == kind and (name is None or o["metadata"]["name"] == name)
    ]
    assert len(found) == 1, f"{len(found)} {kind} {name or ''} rendered"
    return found[0]
