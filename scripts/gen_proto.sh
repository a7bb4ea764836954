#!/usr/bin/env bash
# Regenerate the Python code for every .proto under proto/ into OUT (default: the repo root).
# The generated files are committed; tests/test_proto_current.py fails when they are stale.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
OUT="${1:-$ROOT}"
PY="${PYTHON:-$ROOT/.venv/bin/python}"
mkdir -p "$OUT/sdk/perdure/_pb" "$OUT/partition/pb" "$OUT/log/pb"
cd "$ROOT/proto"
"$PY" -m grpc_tools.protoc -I . --python_out="$OUT/sdk" --pyi_out="$OUT/sdk" \
  --grpc_python_out="$OUT/sdk" perdure/_pb/protocol.proto
"$PY" -m grpc_tools.protoc -I . --python_out="$OUT" --pyi_out="$OUT" \
  partition/pb/records.proto partition/pb/storage.proto log/pb/log.proto
