# The Perdure server image the Helm chart runs (helm/perdure): the node (`perdure-server`) and
# the operator's command line (`perdure`), installed from this repository.
#   docker build -t perdure:0.1.0 .
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PERDURE_DATA_DIR=/data

WORKDIR /opt/perdure
COPY proto/ proto/
COPY sdk/ sdk/
COPY pyproject.toml README.md ./
COPY cli/ cli/
COPY ingress/ ingress/
COPY log/ log/
COPY node/ node/
COPY partition/ partition/
RUN pip install ./proto ./sdk . \
    && useradd --uid 1000 --user-group --no-create-home --home-dir /data perdure \
    && mkdir -p /data && chown perdure:perdure /data

USER 1000:1000
VOLUME ["/data"]
# ingress (HTTP, gRPC), admin API (and /metrics), Raft (5123 + group), fabric (5300 + group)
EXPOSE 8080 9090 9070 5123 5300
ENTRYPOINT ["perdure-server"]
