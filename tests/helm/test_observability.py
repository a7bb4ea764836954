"""The chart's dashboards and alerting rules: valid PromQL (promtool), alert unit tests
(promtool test rules), and series names that nodes export (checked against a live node's
/metrics in tests/e2e/test_metrics.py, through `series_names`)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.helm.conftest import CHART, Render, one

RULES = CHART / "alerts" / "perdure-rules.yaml"
RULE_TESTS = CHART / "alerts" / "perdure-rules-test.yaml"
DASHBOARDS = sorted((CHART / "dashboards").glob("*.json"))
# Series Prometheus makes itself rather than scraping them.
PROMETHEUS_OWN = frozenset({"up"})
_NAME = re.compile(r"\b(perdure_[a-z0-9_]+|up)\b")


def promtool() -> str:
    found = shutil.which("promtool")
    if found is None:
        pytest.skip("promtool is not installed (apt-get install prometheus; .ci/run does)")
    return found


def dashboard_expressions() -> dict[str, list[str]]:
    """Every panel query of every dashboard, by dashboard file name."""
    out: dict[str, list[str]] = {}
    for path in DASHBOARDS:
        doc = json.loads(path.read_text())
        out[path.name] = [t["expr"] for p in doc["panels"] for t in p["targets"]]
    return out


def rule_expressions() -> list[str]:
    doc = yaml.safe_load(RULES.read_text())
    return [rule["expr"] for group in doc["groups"] for rule in group["rules"]]


def series_names() -> set[str]:
    """The series every dashboard panel and alerting rule reads."""
    expressions = [*rule_expressions(), *(e for es in dashboard_expressions().values() for e in es)]
    return {name for expr in expressions for name in _NAME.findall(expr)}


def test_alerting_rules_are_valid_and_their_unit_tests_pass() -> None:
    checked = subprocess.run([promtool(), "check", "rules", str(RULES)], capture_output=True)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    tested = subprocess.run(
        [promtool(), "test", "rules", RULE_TESTS.name],
        capture_output=True,
        text=True,
        cwd=RULE_TESTS.parent,
    )
    assert tested.returncode == 0, tested.stdout + tested.stderr
    alerts = {r["alert"] for g in yaml.safe_load(RULES.read_text())["groups"] for r in g["rules"]}
    tested_alerts = set(re.findall(r"alertname: (\w+)", RULE_TESTS.read_text()))
    assert (
        alerts
        == tested_alerts
        == {
            "PerdureNodeDown",
            "PerduePartitionWithoutLeader",
            "PerdureReplicaLag",
            "PerdureInvocationsPaused",
            "PerdureIngressLatencyHigh",
        }
    )


def test_every_dashboard_query_is_valid_promql(tmp_path: Path) -> None:
    """promtool checks PromQL in rule files: each panel query becomes a recording rule."""
    rules: list[dict[str, Any]] = []
    for name, expressions in dashboard_expressions().items():
        for i, expr in enumerate(expressions):
            concrete = expr.replace("$instance", ".*")
            rules.append(
                {"record": f"dashboard:{Path(name).stem.replace('-', '_')}:{i}", "expr": concrete}
            )
    path = tmp_path / "dashboards.rules.yaml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "dashboards", "rules": rules}]}))
    checked = subprocess.run(
        [promtool(), "check", "rules", str(path)], capture_output=True, text=True
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert len(rules) >= 20


def test_dashboards_are_grafana_dashboards_linked_to_each_other() -> None:
    uids = {}
    for path in DASHBOARDS:
        doc = json.loads(path.read_text())
        uids[doc["uid"]] = doc
        assert doc["panels"] and all(p["targets"] for p in doc["panels"]), path.name
        ids = [p["id"] for p in doc["panels"]]
        assert len(ids) == len(set(ids)), path.name
        variables = {v["name"] for v in doc["templating"]["list"]}
        assert {"datasource", "instance"} <= variables
    assert set(uids) == {"perdure-overview", "perdure-cluster"}
    for uid, doc in uids.items():
        (other,) = set(uids) - {uid}
        assert any(link["url"].endswith(other) for link in doc["links"])


def test_the_chart_ships_dashboards_and_rules_when_asked(render: Render) -> None:
    objects = render(dashboards__enabled="true", alerts__enabled="true")
    config = one(objects, "ConfigMap")
    assert config["metadata"]["labels"]["grafana_dashboard"] == "1"
    assert sorted(config["data"]) == [p.name for p in DASHBOARDS]
    for path in DASHBOARDS:
        assert json.loads(config["data"][path.name]) == json.loads(path.read_text())
    rule = one(objects, "PrometheusRule")
    assert rule["spec"]["groups"] == yaml.safe_load(RULES.read_text())["groups"]
    kinds = {o["kind"] for o in render()}
    assert "ConfigMap" not in kinds and "PrometheusRule" not in kinds


def test_dashboards_and_rules_read_only_perdure_series() -> None:
    names = series_names()
    assert names - PROMETHEUS_OWN and all(n.startswith("perdure_") for n in names - PROMETHEUS_OWN)
