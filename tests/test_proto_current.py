"""The committed generated code matches the .proto files (run `make proto` when this fails)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GENERATED = [
    f"perdure_proto/{name}"
    for name in (
        "protocol_pb2.py",
        "protocol_pb2.pyi",
        "protocol_pb2_grpc.py",
        "records_pb2.py",
        "records_pb2.pyi",
        "storage_pb2.py",
        "storage_pb2.pyi",
        "log_pb2.py",
        "log_pb2.pyi",
        "fabric_pb2.py",
        "fabric_pb2.pyi",
        "ingress_pb2.py",
        "ingress_pb2.pyi",
        "ingress_pb2_grpc.py",
    )
]


def test_generated_protobuf_code_is_current(tmp_path: Path) -> None:
    env = dict(os.environ, PYTHON=sys.executable)
    subprocess.run([str(ROOT / "scripts/gen_proto.sh"), str(tmp_path)], check=True, env=env)
    stale = [
        rel
        for rel in GENERATED
        if (tmp_path / rel).read_bytes() != (ROOT / "proto" / rel).read_bytes()
    ]
    assert not stale, f"generated code is stale, run `make proto`: {stale}"
