"""helm/perdure: lints strictly, renders objects Kubernetes' schemas accept, and the objects say
what a node needs (tests/helm/test_render_and_run.py starts real nodes from them)."""

from __future__ import annotations

import base64
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.helm.conftest import CHART, KUBE_VERSION, Render, kubernetes_validate, one

VALUES = ["values.yaml", "values-replicated.yaml"]


def env_of(container: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {e["name"]: e for e in container["env"]}


@pytest.mark.parametrize("values", VALUES)
def test_lints_strictly(helm: list[str], values: str) -> None:
    done = subprocess.run(
        [*helm, "lint", "--strict", str(CHART), "-f", str(CHART / values)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize("values", VALUES)
def test_rendered_objects_pass_kubernetes_schemas(
    render: Render, values: str, tmp_path: Path
) -> None:
    rendered = tmp_path / "rendered.yaml"
    rendered.write_text(yaml.safe_dump_all(render(values)))
    done = subprocess.run(
        [kubernetes_validate(), "-k", KUBE_VERSION.rsplit(".", 1)[0], "--strict", str(rendered)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    bad = tmp_path / "bad.yaml"  # the validator does refuse what Kubernetes would
    objects = render(values)
    one(objects, "StatefulSet")["spec"]["replicas"] = "three"
    bad.write_text(yaml.safe_dump_all(objects))
    refused = subprocess.run(
        [kubernetes_validate(), "-k", "1.32", "--strict", str(bad)],
        capture_output=True,
        timeout=120,
    )
    assert refused.returncode != 0


def test_a_single_node_by_default(render: Render) -> None:
    objects = render("values.yaml")
    sts = one(objects, "StatefulSet")
    assert sts["spec"]["replicas"] == 1
    env = env_of(sts["spec"]["template"]["spec"]["containers"][0])
    assert "PERDURE_CLUSTER" not in env and "PERDURE_CLUSTER_SECRET" not in env
    kinds = {o["kind"] for o in objects}
    assert "PodDisruptionBudget" not in kinds and "Secret" not in kinds
    assert "ServiceMonitor" not in kinds


def test_three_replicated_nodes_find_each_other_by_stable_names(render: Render) -> None:
    objects = render("values-replicated.yaml", namespace="prod")
    sts = one(objects, "StatefulSet")
    spec = sts["spec"]
    headless = one(objects, "Service", spec["serviceName"])
    assert headless["spec"]["clusterIP"] == "None"
    assert headless["spec"]["publishNotReadyAddresses"] is True  # reachable before ready
    assert spec["replicas"] == 3 and spec["podManagementPolicy"] == "Parallel"
    container = spec["template"]["spec"]["containers"][0]
    env = env_of(container)
    name, service = sts["metadata"]["name"], spec["serviceName"]
    expected = ",".join(f"{name}-{i}={name}-{i}.{service}.prod.svc.cluster.local" for i in range(3))
    assert env["PERDURE_CLUSTER"]["value"] == expected
    assert env["PERDURE_NODE_NAME"]["value"] == "$(POD_NAME)"
    assert env["POD_NAME"]["valueFrom"]["fieldRef"]["fieldPath"] == "metadata.name"
    ref = env["PERDURE_CLUSTER_SECRET"]["valueFrom"]["secretKeyRef"]
    secret = one(objects, "Secret", ref["name"])
    assert len(base64.b64decode(secret["data"][ref["key"]])) >= 16
    assert one(objects, "PodDisruptionBudget")["spec"]["maxUnavailable"] == 1
    claim = spec["volumeClaimTemplates"][0]
    mounts = {m["name"]: m["mountPath"] for m in container["volumeMounts"]}
    assert mounts[claim["metadata"]["name"]] == env["PERDURE_DATA_DIR"]["value"]


def test_ports_probes_and_services_agree_with_the_node_settings(render: Render) -> None:
    objects = render("values-replicated.yaml", ports__ingress=18080, ports__admin=19070)
    sts = one(objects, "StatefulSet")
    container = sts["spec"]["template"]["spec"]["containers"][0]
    env = env_of(container)
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    for port, setting in (
        ("ingress", "PERDURE_INGRESS_PORT"),
        ("grpc", "PERDURE_GRPC_PORT"),
        ("admin", "PERDURE_ADMIN_PORT"),
        ("raft", "PERDURE_RAFT_PORT"),
        ("internal", "PERDURE_INTERNAL_PORT"),
    ):
        assert str(ports[port]) == env[setting]["value"], port
    assert ports["ingress"] == 18080 and ports["admin"] == 19070
    assert container["readinessProbe"]["httpGet"] == {"path": "/restate/health", "port": "ingress"}
    assert container["livenessProbe"]["tcpSocket"]["port"] in ports
    client = one(objects, "Service", sts["metadata"]["name"])
    assert {p["name"]: (p["port"], p["targetPort"]) for p in client["spec"]["ports"]} == {
        "ingress": (8080, "ingress"),
        "grpc": (9090, "grpc"),
        "admin": (9070, "admin"),
    }


def test_runs_as_non_root_on_a_read_only_root_filesystem(render: Render) -> None:
    pod = one(render("values-replicated.yaml"), "StatefulSet")["spec"]["template"]["spec"]
    container = pod["containers"][0]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] != 0
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert container["securityContext"]["allowPrivilegeEscalation"] is False
    assert container["securityContext"]["capabilities"]["drop"] == ["ALL"]
    writable = {m["mountPath"] for m in container["volumeMounts"]}
    assert writable == {"/data", "/tmp"}  # the data directory and temporary files only
    assert container["resources"]["limits"] and container["resources"]["requests"]


def test_service_monitor_scrapes_every_pods_metrics_when_enabled(render: Render) -> None:
    objects = render("values-replicated.yaml", serviceMonitor__enabled="true")
    monitor = one(objects, "ServiceMonitor")
    assert monitor["apiVersion"] == "monitoring.coreos.com/v1"
    [endpoint] = monitor["spec"]["endpoints"]
    assert endpoint["port"] == "admin" and endpoint["path"] == "/metrics"
    selected = monitor["spec"]["selector"]["matchLabels"]
    sts = one(objects, "StatefulSet")
    assert selected.items() <= sts["spec"]["template"]["metadata"]["labels"].items()


def test_an_existing_secret_is_used_instead_of_a_generated_one(render: Render) -> None:
    objects = render("values-replicated.yaml", cluster__existingSecret="mine")
    assert not [o for o in objects if o["kind"] == "Secret"]
    env = env_of(one(objects, "StatefulSet")["spec"]["template"]["spec"]["containers"][0])
    assert env["PERDURE_CLUSTER_SECRET"]["valueFrom"]["secretKeyRef"]["name"] == "mine"


def test_the_image_installs_what_the_chart_runs() -> None:
    """The Dockerfile (which cannot be built here) copies every package the server installs and
    runs the command the chart starts; the chart's appVersion is the server's version."""
    import tomllib

    from node.local import ROOT

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    dockerfile = (ROOT / "Dockerfile").read_text()
    for pattern in project["tool"]["setuptools"]["packages"]["find"]["include"]:
        package = pattern.rstrip("*")
        assert f"COPY {package}/ {package}/" in dockerfile, package
    assert 'ENTRYPOINT ["perdure-server"]' in dockerfile
    assert "perdure-server" in project["project"]["scripts"]
    chart = yaml.safe_load((CHART / "Chart.yaml").read_text())
    assert chart["appVersion"] == project["project"]["version"]
    assert "USER 1000" in dockerfile  # the chart's runAsUser


def test_an_admin_token_from_a_secret_reaches_the_node_and_the_service_monitor(
    render: Render, tmp_path: Path
) -> None:
    objects = render(
        "values-replicated.yaml",
        adminToken__existingSecret="perdure-admin",
        serviceMonitor__enabled="true",
    )
    pod = one(objects, "StatefulSet")["spec"]["template"]["spec"]
    container = pod["containers"][0]
    token_file = env_of(container)["PERDURE_ADMIN_TOKEN_FILE"]["value"]
    mount = next(m for m in container["volumeMounts"] if m["name"] == "admin-token")
    volume = next(v for v in pod["volumes"] if v["name"] == "admin-token")
    assert mount["readOnly"] is True and token_file.startswith(mount["mountPath"] + "/")
    assert volume["secret"]["secretName"] == "perdure-admin"
    assert token_file.endswith("/" + volume["secret"]["items"][0]["path"])
    [endpoint] = one(objects, "ServiceMonitor")["spec"]["endpoints"]
    assert endpoint["authorization"]["credentials"] == {
        "name": "perdure-admin",
        "key": "admin-token",
    }
    rendered = tmp_path / "rendered.yaml"
    rendered.write_text(yaml.safe_dump_all([o for o in objects if o["kind"] != "ServiceMonitor"]))
    done = subprocess.run(
        [kubernetes_validate(), "-k", "1.32", "--strict", str(rendered)], capture_output=True
    )
    assert done.returncode == 0, done.stdout


def test_a_grpc_tls_secret_is_mounted_and_named_to_the_node(render: Render) -> None:
    objects = render("values-replicated.yaml", grpcTls__existingSecret="perdure-grpc-tls")
    pod = one(objects, "StatefulSet")["spec"]["template"]["spec"]
    container = pod["containers"][0]
    env = env_of(container)
    mount = next(m for m in container["volumeMounts"] if m["name"] == "grpc-tls")
    volume = next(v for v in pod["volumes"] if v["name"] == "grpc-tls")
    assert mount["readOnly"] is True
    assert volume["secret"]["secretName"] == "perdure-grpc-tls"
    files = {item["path"] for item in volume["secret"]["items"]}
    for name in ("PERDURE_GRPC_TLS_CERT_FILE", "PERDURE_GRPC_TLS_KEY_FILE"):
        path = env[name]["value"]
        assert path.startswith(mount["mountPath"] + "/") and path.rsplit("/", 1)[1] in files
    plain = one(render("values-replicated.yaml"), "StatefulSet")["spec"]["template"]["spec"]
    assert "PERDURE_GRPC_TLS_CERT_FILE" not in env_of(plain["containers"][0])
