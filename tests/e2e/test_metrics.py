"""A loaded 3-node cluster's /metrics: `promtool check metrics` passes on every node, every
series the chart's dashboards and alerting rules read is exported, and a real Prometheus
scraping the three nodes answers an instant query for each of them."""

from __future__ import annotations

import json
import shutil
import subprocess
import time
import urllib.parse
from pathlib import Path

import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from node.local import LocalCluster, free_port, http, wait_until
from tests.e2e.test_three_nodes import post, running_three
from tests.helm.test_observability import PROMETHEUS_OWN, RULES, series_names


def tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        pytest.skip(f"{name} is not installed (apt-get install prometheus; .ci/run does)")
    return found


def load(cluster: LocalCluster) -> None:
    """Some of everything: calls, retries, a terminal failure, a kill, timers, a query."""
    nodes = cluster.nodes
    for i in range(12):
        status, _ = post(nodes[i % 3].ingress_url + f"/Counter/m{i % 4}/add", b"1")
        assert status == 200
    assert post(nodes[1].ingress_url + "/Flaky/twice_failing", b'"metrics"')[0] == 200
    assert post(nodes[2].ingress_url + "/Flaky/reject", b"400")[0] == 400
    status, sent = post(nodes[0].ingress_url + "/Sleepy/forever/send", b'"m"')
    assert status == 202
    invocation = (
        sent["invocationId"] if isinstance(sent, dict) else json.loads(sent)["invocationId"]
    )
    status, _, _ = http("PATCH", nodes[1].admin_url + f"/invocations/{invocation}/kill")
    assert status in (200, 202)
    post(nodes[0].ingress_url + "/Sleepy/forever/send", b'"stays asleep"')  # a timer pending
    query = json.dumps({"query": "SELECT count(*) FROM sys_invocation"}).encode()
    status, _, _ = http(
        "POST",
        nodes[0].admin_url + "/query",
        query,
        {"content-type": "application/json", "accept": "application/json"},
    )
    assert status == 200


def exported(text: str) -> set[str]:
    return {s.name for f in text_string_to_metric_families(text) for s in f.samples}


def test_a_loaded_clusters_metrics_pass_promtool_and_feed_every_dashboard_series(
    tmp_path: Path,
) -> None:
    promtool, prometheus = tool("promtool"), tool("prometheus")
    with running_three(tmp_path, None, 0) as cluster:
        load(cluster)
        everywhere: set[str] = set()
        for node in cluster.nodes:
            status, _, body = http("GET", node.admin_url + "/metrics")
            assert status == 200
            checked = subprocess.run(
                [promtool, "check", "metrics"], input=body, capture_output=True, timeout=30
            )
            assert checked.returncode == 0, checked.stdout + checked.stderr
            everywhere |= exported(body.decode())
        wanted = series_names() - PROMETHEUS_OWN
        assert wanted <= everywhere, f"not exported: {sorted(wanted - everywhere)}"

        port = free_port()
        config = tmp_path / "prometheus.yml"
        targets = [urllib.parse.urlsplit(n.admin_url).netloc for n in cluster.nodes]
        config.write_text(
            yaml.safe_dump(
                {
                    "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
                    "rule_files": [str(RULES)],
                    "scrape_configs": [
                        {"job_name": "perdure", "static_configs": [{"targets": targets}]}
                    ],
                }
            )
        )
        server = subprocess.Popen(
            [
                prometheus,
                f"--config.file={config}",
                f"--storage.tsdb.path={tmp_path / 'tsdb'}",
                f"--web.listen-address=127.0.0.1:{port}",
            ],
            stdout=subprocess.DEVNULL,
            stderr=(tmp_path / "prometheus.log").open("wb"),
        )
        try:
            api = f"http://127.0.0.1:{port}/api/v1"

            def instant(expr: str) -> list[object]:
                url = f"{api}/query?query={urllib.parse.quote(expr)}"
                status, _, body = http("GET", url, timeout=5)
                result: list[object] = json.loads(body)["data"]["result"] if status == 200 else []
                return result

            wait_until(lambda: len(instant("up == 1")) == 3, 30, "Prometheus to scrape 3 nodes")
            time.sleep(2.5)  # a few scrapes: rates and increases have two samples
            for name in sorted(series_names()):
                wait_until(lambda name=name: instant(name), 10, f"Prometheus to answer {name}")
            leaders = instant("sum by (group) (perdure_raft_leader)")
            assert [r["value"][1] for r in leaders] == ["1"]  # type: ignore[index]
            assert instant('ALERTS{alertname="PerduePartitionWithoutLeader"}') == []
        finally:
            server.terminate()
            server.wait(10)
