"""Render the replicated chart and run it without Kubernetes: three real node processes on this
machine, each started with exactly its pod's command and environment as the kubelet would give
them (field refs, the Secret's value, `$(VAR)` expansion), with pod IPs and pod DNS names mapped
to loopback addresses (127.0.0.1-3) and volume mounts to temporary directories. They must form
one cluster, pass their probes, serve a call through the client Service's port, and survive
kill -9 of the leader's pod. A wrong port, env var or name in the chart fails here."""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import socket
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc

from node.local import ROOT, LocalDeployment, Process, free_ports, http, wait_until
from perdure_proto import ingress_pb2 as ig
from perdure_proto import ingress_pb2_grpc as ingress_grpc
from tests.helm.conftest import Render, one

_VAR = re.compile(r"\$\(([A-Za-z_][A-Za-z0-9_]*)\)")


@dataclass
class Pod:
    name: str
    ip: str
    container: dict[str, Any]
    process: Process

    def port(self, name_or_number: str | int) -> int:
        """A container port, by name (as probes and Services name them) or number."""
        if isinstance(name_or_number, int):
            return name_or_number
        ports = {str(p["name"]): int(p["containerPort"]) for p in self.container["ports"]}
        return ports[name_or_number]

    def url(self, port: str | int, path: str = "") -> str:
        return f"http://{self.ip}:{self.port(port)}{path}"


def pod_environment(
    container: dict[str, Any],
    pod: str,
    ip: str,
    secrets: dict[str, dict[str, str]],
    hosts: dict[str, str],
    mounts: dict[str, str],
) -> dict[str, str]:
    """The container's environment as the kubelet sets it, then with pod DNS names and mount
    paths replaced by their stand-ins on this machine."""
    env: dict[str, str] = {}
    for entry in container["env"]:
        if "value" in entry:
            # Kubernetes expands $(VAR) of variables defined earlier in the list.
            value = _VAR.sub(lambda m: env.get(m.group(1), m.group(0)), str(entry["value"]))
        elif "fieldRef" in entry["valueFrom"]:
            path = entry["valueFrom"]["fieldRef"]["fieldPath"]
            value = {"metadata.name": pod, "status.podIP": ip}[path]
        else:
            ref = entry["valueFrom"]["secretKeyRef"]
            value = base64.b64decode(secrets[ref["name"]][ref["key"]]).decode()
        env[entry["name"]] = value
    for original, local in (*hosts.items(), *mounts.items()):
        env = {k: v.replace(original, local) for k, v in env.items()}
    return env


def start_pods(objects: list[dict[str, Any]], namespace: str, root: Path) -> list[Pod]:
    sts = one(objects, "StatefulSet")
    spec = sts["spec"]
    container = spec["template"]["spec"]["containers"][0]
    secrets = {o["metadata"]["name"]: o["data"] for o in objects if o["kind"] == "Secret"}
    names = [f"{sts['metadata']['name']}-{i}" for i in range(spec["replicas"])]
    ips = [f"127.0.0.{i + 1}" for i in range(len(names))]
    domain = f"{spec['serviceName']}.{namespace}.svc.cluster.local"
    hosts = {f"{name}.{domain}": ip for name, ip in zip(names, ips, strict=True)}
    executable = shutil.which(container["command"][0], path=str(Path(sys.executable).parent))
    assert executable, f"{container['command'][0]} is not installed next to {sys.executable}"
    pods = []
    for name, ip in zip(names, ips, strict=True):
        mounts = {m["mountPath"]: str(root / name / m["name"]) for m in container["volumeMounts"]}
        for path in mounts.values():
            Path(path).mkdir(parents=True, exist_ok=True)
        env = pod_environment(container, name, ip, secrets, hosts, mounts)
        # Only what a container image would add: where Python finds the code (PATH, PYTHONPATH).
        env |= {
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
            "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "sdk")]),
        }
        args = [executable, *container["command"][1:], *container.get("args", [])]
        process = Process(name, args, env, root / f"{name}.log")
        process.start()
        pods.append(Pod(name, ip, container, process))
    return pods


def probes_pass(pod: Pod) -> bool:
    pod.process.require_alive()
    ready = pod.container["readinessProbe"]["httpGet"]
    if http("GET", pod.url(ready["port"], ready["path"]), timeout=1)[0] != 200:
        return False
    alive = pod.container["livenessProbe"]["tcpSocket"]["port"]
    with socket.create_connection((pod.ip, pod.port(alive)), timeout=1):
        return True


def service_url(objects: list[dict[str, Any]], service: str, port: str, pod: Pod) -> str:
    """What a client of Service `service` port `port` reaches on `pod` (as kube-proxy routes)."""
    spec = one(objects, "Service", service)["spec"]
    target = next(p["targetPort"] for p in spec["ports"] if p["name"] == port)
    return pod.url(target)


def post(url: str, body: bytes, key: str | None = None) -> tuple[int, bytes]:
    headers = {"content-type": "application/json"}
    if key is not None:
        headers["idempotency-key"] = key
    status, _, out = http("POST", url, body, headers, timeout=10)
    return status, out


def test_the_rendered_replicated_statefulset_runs_as_one_cluster(
    render: Render, tmp_path: Path
) -> None:
    ingress, grpc_port, admin, raft, internal = (free_ports(1) for _ in range(5))
    namespace = "perdure"
    objects = render(
        "values-replicated.yaml",
        namespace=namespace,
        ports__ingress=ingress,
        ports__grpc=grpc_port,
        ports__admin=admin,
        ports__raft=raft,
        ports__internal=internal,
    )
    client = one(objects, "StatefulSet")["metadata"]["name"]  # the client Service's name too
    deployment = LocalDeployment(tmp_path / "deployment.log")
    pods = start_pods(objects, namespace, tmp_path)
    try:
        deployment.start()
        for pod in pods:
            wait_until(lambda pod=pod: probes_pass(pod), 60, f"{pod.name}'s probes to pass")
        admin_url = service_url(objects, client, "admin", pods[0])
        body = json.dumps({"uri": deployment.uri}).encode()
        status, _, out = http(
            "POST", admin_url + "/deployments", body, {"content-type": "application/json"}
        )
        assert status in (200, 201), out

        def registered_everywhere() -> bool:
            return all(
                http("GET", service_url(objects, client, "ingress", p) + "/Greeter/greet")[0] != 404
                for p in pods
            )

        wait_until(registered_everywhere, 20, "every pod to know the deployment")
        for i, pod in enumerate(pods):  # through the client Service's port, on each endpoint
            url = service_url(objects, client, "ingress", pod) + "/Counter/helm/add"
            status, out = post(url, b"1")
            assert status == 200 and int(out) == i + 1, (pod.name, status, out)
        grpc_target = service_url(objects, client, "grpc", pods[2]).removeprefix("http://")
        with grpc.insecure_channel(grpc_target) as channel:
            call = ingress_grpc.IngressStub(channel).Call  # type: ignore[no-untyped-call]
            answer = call(ig.CallRequest(service="Counter", handler="add", key="helm", json="1"))
        assert answer.json == str(len(pods) + 1)

        def one_cluster() -> dict[str, Any] | None:
            cluster: dict[str, Any] = json.loads(http("GET", admin_url + "/cluster")[2])
            nodes = {n["name"]: n["alive"] for n in cluster["nodes"]}
            if nodes == {p.name: True for p in pods} and cluster["partitions"][0]["leader"]:
                return cluster
            return None

        wait_until(one_cluster, 10, "every pod to be listed, alive, under its pod name")
        cluster = one_cluster()
        assert cluster is not None
        leader = cluster["partitions"][0]["leader"]
        victim = next(p for p in pods if p.name == leader)
        victim.process.kill9()
        survivor = next(p for p in pods if p is not victim)
        url = service_url(objects, client, "ingress", survivor) + "/Counter/helm/add"

        def served_again() -> bool:
            status, out = post(url, b"1", key="after-kill")
            return status == 200 and int(out) == len(pods) + 2

        wait_until(served_again, 10, "the cluster to serve again after kill -9 of the leader")
    finally:
        for pod in pods:
            pod.process.stop()
        deployment.stop()
