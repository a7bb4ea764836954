"""TLS on the gRPC ingress: with a certificate and key configured, a client that trusts the
certificate calls over TLS (a raw grpcio channel, and the SDK's `create_client("grpcs://...")`),
a plaintext client gets nothing, and the node refuses half a TLS configuration at start."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from node import config
from node.local import ROOT
from perdure_proto import ingress_pb2 as ipb
from perdure_proto import ingress_pb2_grpc as ipb_grpc
from tests.e2e.conftest import Cluster, running_cluster


def self_signed(directory: Path) -> tuple[Path, Path]:
    if shutil.which("openssl") is None:
        pytest.skip("openssl is needed to make a test certificate")
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(
        [
            *("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"),
            *("-keyout", str(key), "-out", str(cert), "-subj", "/CN=localhost"),
            *("-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"),
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


@pytest.fixture
def tls_node(tmp_path: Path) -> Iterator[tuple[Cluster, bytes]]:
    cert, key = self_signed(tmp_path)
    env = {"PERDURE_GRPC_TLS_CERT_FILE": str(cert), "PERDURE_GRPC_TLS_KEY_FILE": str(key)}
    with running_cluster(tmp_path, "examples.services:app", node_env=env) as c:
        yield c, cert.read_bytes()


def test_calls_go_over_tls_and_plaintext_gets_nothing(tls_node: tuple[Cluster, bytes]) -> None:
    c, cert = tls_node
    credentials = grpc.ssl_channel_credentials(root_certificates=cert)
    with grpc.secure_channel(c.node.grpc_target, credentials) as channel:
        health = health_pb2_grpc.HealthStub(channel)
        status = health.Check(health_pb2.HealthCheckRequest(), timeout=10).status
        assert status == health_pb2.HealthCheckResponse.SERVING
        stub: Any = ipb_grpc.IngressStub(channel)  # type: ignore[no-untyped-call]
        answer = stub.Call(ipb.CallRequest(service="Greeter", handler="greet", json='"tls"'))
        assert json.loads(answer.json) == "Hello, tls!"
    with grpc.insecure_channel(c.node.grpc_target) as plain:
        health = health_pb2_grpc.HealthStub(plain)
        with pytest.raises(grpc.RpcError) as caught:
            health.Check(health_pb2.HealthCheckRequest(), timeout=3)
        assert caught.value.code() in (
            grpc.StatusCode.UNAVAILABLE,
            grpc.StatusCode.DEADLINE_EXCEEDED,
        )


CLIENT = """
import asyncio, sys
import perdure
from examples.services import greet

async def main() -> None:
    async with perdure.create_client(sys.argv[1]) as client:
        print(await client.service_call(greet, arg="sdk"))

asyncio.run(main())
"""


def test_the_sdk_client_calls_over_grpcs(tls_node: tuple[Cluster, bytes], tmp_path: Path) -> None:
    c, cert = tls_node
    roots = tmp_path / "roots.pem"
    roots.write_bytes(cert)
    env = {
        **os.environ,
        "GRPC_DEFAULT_SSL_ROOTS_FILE_PATH": str(roots),  # grpcio's trust store for grpcs://
        "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "sdk")]),
    }
    out = subprocess.run(
        [sys.executable, "-c", CLIENT, f"grpcs://{c.node.grpc_target}"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "Hello, sdk!"


def test_half_a_tls_configuration_or_a_file_that_is_not_pem_is_refused(tmp_path: Path) -> None:
    cert, key = self_signed(tmp_path)
    with pytest.raises(config.Error, match="set both, or neither"):
        config.load([], {"PERDURE_GRPC_TLS_CERT_FILE": str(cert)})
    (tmp_path / "junk").write_text("not a certificate")
    junk = {
        "PERDURE_GRPC_TLS_CERT_FILE": str(tmp_path / "junk"),
        "PERDURE_GRPC_TLS_KEY_FILE": str(key),
    }
    with pytest.raises(config.Error, match="is not a PEM file"):
        config.load([], junk)
    opts, _ = config.load(
        [], {"PERDURE_GRPC_TLS_CERT_FILE": str(cert), "PERDURE_GRPC_TLS_KEY_FILE": str(key)}
    )
    assert opts.grpc_tls_cert_file == str(cert)
