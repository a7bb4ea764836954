#!/usr/bin/env bash
# Regenerate the Python code of the wire contracts (proto/perdure_proto/*.proto) into
# OUT/perdure_proto (default OUT: proto/, the perdure-proto distribution).
# The generated files are committed; tests/test_proto_current.py fails when they are stale.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
OUT="${1:-$ROOT/proto}"
PY="${PYTHON:-$ROOT/.venv/bin/python}"
mkdir -p "$OUT/perdure_proto"
cd "$ROOT/proto"
"$PY" -m grpc_tools.protoc -I . --python_out="$OUT" --pyi_out="$OUT" \
  --grpc_python_out="$OUT" perdure_proto/protocol.proto perdure_proto/ingress.proto
"$PY" -m grpc_tools.protoc -I . --python_out="$OUT" --pyi_out="$OUT" \
  perdure_proto/records.proto perdure_proto/storage.proto perdure_proto/log.proto \
  perdure_proto/fabric.proto
