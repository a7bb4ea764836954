"""Node configuration: defaults, then a TOML file, then `PERDURE_*` environment variables, then
command-line flags (later wins). `perdure-server --dump-config` prints the result as TOML."""

from __future__ import annotations

import argparse
import os
import tomllib
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any


class Error(ValueError):
    """The configuration is invalid; the message names the setting and what is expected."""


@dataclass(frozen=True, slots=True)
class NodeOptions:
    node_name: str = "perdure-1"
    data_dir: str = ".perdure-data"
    bind_host: str = "127.0.0.1"
    # The admin API's interface when it differs from the ingress's (empty: bind_host), e.g.
    # 127.0.0.1 or a management network while the ingress listens on 0.0.0.0.
    admin_bind_host: str = ""
    # A file holding a bearer token the admin API requires of every route but /health (empty:
    # no token, the admin API is open); see node/admin_auth.py.
    admin_token_file: str = ""
    ingress_port: int = 8080
    admin_port: int = 9070
    grpc_port: int = 9090  # the gRPC ingress (perdure.v1.Ingress); -1: none, 0: any free port
    # TLS on the gRPC ingress: PEM files of its certificate chain and private key (both or none).
    grpc_tls_cert_file: str = ""
    grpc_tls_key_file: str = ""
    raft_port: int = 5123
    max_body_bytes: int = 32 * 1024 * 1024
    fsync: bool = True
    # One stream carries everything (feasibility 7.1.4): each gRPC message costs CPU on both
    # sides whatever it holds, and a second stream splits every loop turn's batch in two.
    streams_per_deployment: int = 1
    log_level: str = "info"
    log_format: str = "text"  # or "json": one object per line (node/logs.py)
    default_retry_initial_interval_ms: int = 500
    default_retry_max_interval_ms: int = 60_000
    default_retry_max_attempts: int = 70
    default_retry_on_max_attempts: str = "pause"
    inactivity_timeout_ms: int = 60_000
    abort_timeout_ms: int = 600_000
    cleanup_interval_ms: int = 60_000
    # Logical partitions (fixed when the data directory is created) and the processes (Raft
    # groups) that run them; see partition/routing.py and ARCHITECTURE.md.
    partitions: int = 24
    partition_processes: int = 1
    # The partition processes' CPU scheduling policy (node/main.py): "batch" (Linux SCHED_BATCH:
    # a process woken does not preempt the one running), "normal", or "auto" (batch when there
    # is more than one partition process).
    cpu_scheduling: str = "auto"
    internal_port: int = 5300  # group g's private fabric port is internal_port + g (127.0.0.1)
    group: int = 0  # which group this process runs (set by the first process for the others)
    # A cluster (node/membership.py): "name=host,..." of every node, this one included; empty
    # for a single node. The secret every node shares comes from this file or from the
    # PERDURE_CLUSTER_SECRET environment variable.
    cluster: str = ""
    cluster_secret_file: str = ""
    # A node added to a running cluster (node/membership_changes.py): until an operator added
    # it (POST /cluster/nodes), it fetches snapshots and stays out of elections.
    cluster_join: bool = False
    # HTTP hygiene of the ingress and admin servers (ingress/http_types.py HttpServerOptions),
    # each per process: a request's headers must arrive within http_header_timeout_ms, its body
    # within http_body_timeout_ms (else 408); connections beyond http_max_connections and request
    # bytes held beyond http_max_buffered_bytes are answered 503 with retry-after.
    http_header_timeout_ms: int = 10_000
    http_body_timeout_ms: int = 60_000
    http_max_connections: int = 8192
    http_max_buffered_bytes: int = 256 * 1024 * 1024
    # Free space kept on the data directory's disk (node/disk.py): below it the node refuses
    # new invocations with 503 (reads go on) until space is back; 0: no reserve.
    min_free_disk_bytes: int = 128 * 1024 * 1024
    # Where the leader POSTs each invocation that pauses after its retries (node/pause_webhook.py);
    # empty: nowhere.
    pause_webhook_url: str = ""
    # Applied records between trims of the log (tests lower it to exercise trimming).
    trim_every_records: int = 4096
    # Raft entries the others keep for a cluster member that lags (is down, or slow); a member
    # further behind catches up by snapshot instead (node/snapshot.py).
    trim_retain_entries: int = 50_000

    @property
    def data_path(self) -> Path:
        return Path(self.data_dir)


def _convert(name: str, value: Any, kind: type) -> Any:
    if kind is bool:
        if isinstance(value, bool):
            return value
        if str(value).lower() in ("1", "true", "yes", "on"):
            return True
        if str(value).lower() in ("0", "false", "no", "off"):
            return False
        raise Error(f"setting {name}: expected true or false, got {value!r}")
    if kind is int:
        try:
            return int(value)
        except (TypeError, ValueError) as exc:
            raise Error(f"setting {name}: expected an integer, got {value!r}") from exc
    return str(value)


_KINDS = {
    "node_name": str,
    "cluster": str,
    "cluster_secret_file": str,
    "data_dir": str,
    "bind_host": str,
    "admin_bind_host": str,
    "admin_token_file": str,
    "grpc_tls_cert_file": str,
    "grpc_tls_key_file": str,
    "log_level": str,
    "log_format": str,
    "fsync": bool,
    "cluster_join": bool,
    "default_retry_on_max_attempts": str,
    "pause_webhook_url": str,
    "cpu_scheduling": str,
}


def _kind(name: str) -> type:
    return _KINDS.get(name, int)


def load(
    argv: list[str] | None = None, env: dict[str, str] | None = None
) -> tuple[NodeOptions, bool]:
    """The effective options, and whether `--dump-config` was asked for."""
    env = dict(os.environ) if env is None else env
    parser = argparse.ArgumentParser(prog="perdure-server", description="Run a Perdure node.")
    parser.add_argument("--config-file", help="TOML file with node settings")
    parser.add_argument("--dump-config", action="store_true", help="print the effective config")
    for f in fields(NodeOptions):
        parser.add_argument("--" + f.name.replace("_", "-"), dest=f.name, default=None)
    args = parser.parse_args(argv)
    opts = NodeOptions()
    settings: dict[str, Any] = {}
    config_file = args.config_file or env.get("PERDURE_CONFIG_FILE")
    if config_file:
        try:
            with open(config_file, "rb") as fh:
                doc = tomllib.load(fh)
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise Error(f"cannot read config file {config_file}: {exc}") from exc
        for k, v in doc.items():
            settings[k.replace("-", "_")] = v
    for f in fields(NodeOptions):
        if (value := env.get("PERDURE_" + f.name.upper())) is not None:
            settings[f.name] = value
        if (value := getattr(args, f.name)) is not None:
            settings[f.name] = value
    known = {f.name for f in fields(NodeOptions)}
    unknown = sorted(set(settings) - known)
    if unknown:
        raise Error(f"unknown settings {unknown}; known: {sorted(known)}")
    opts = replace(opts, **{k: _convert(k, v, _kind(k)) for k, v in settings.items()})
    if opts.default_retry_on_max_attempts not in ("pause", "kill"):
        raise Error(
            "setting default_retry_on_max_attempts: expected pause or kill, "
            f"got {opts.default_retry_on_max_attempts!r}"
        )
    if opts.pause_webhook_url and not opts.pause_webhook_url.startswith(("http://", "https://")):
        raise Error(
            f"setting pause_webhook_url: expected an http(s) URL, got {opts.pause_webhook_url!r}"
        )
    if opts.cpu_scheduling not in ("auto", "batch", "normal"):
        raise Error(
            f"setting cpu_scheduling: expected auto, batch or normal, got {opts.cpu_scheduling!r}"
        )
    if opts.log_format not in ("text", "json"):
        raise Error(f"setting log_format: expected text or json, got {opts.log_format!r}")
    if not 1 <= opts.partition_processes <= opts.partitions:
        raise Error(
            f"setting partition_processes: expected 1..{opts.partitions} (the partitions), "
            f"got {opts.partition_processes}"
        )
    if opts.grpc_port < -1:
        raise Error(
            f"setting grpc_port: expected a port, 0 (any) or -1 (off), got {opts.grpc_port}"
        )
    if bool(opts.grpc_tls_cert_file) != bool(opts.grpc_tls_key_file):
        raise Error("settings grpc_tls_cert_file and grpc_tls_key_file: set both, or neither")
    for name in ("grpc_tls_cert_file", "grpc_tls_key_file"):
        path = getattr(opts, name)
        if path:
            try:
                pem = Path(path).read_bytes()
            except OSError as exc:
                raise Error(f"setting {name}: cannot read {path}: {exc.strerror}") from exc
            if b"-----BEGIN " not in pem:
                raise Error(f"setting {name}: {path} is not a PEM file")
    if opts.admin_token_file:
        from node.admin_auth import read_token_file  # here: it imports the admin API

        read_token_file(opts.admin_token_file)  # refuse to start with an unusable token file
    for name in ("http_header_timeout_ms", "http_body_timeout_ms", "http_max_connections"):
        if getattr(opts, name) < 1:
            raise Error(f"setting {name}: expected a positive integer, got {getattr(opts, name)}")
    if opts.http_max_buffered_bytes < opts.max_body_bytes:
        raise Error(
            f"setting http_max_buffered_bytes: expected at least max_body_bytes "
            f"({opts.max_body_bytes}), got {opts.http_max_buffered_bytes}"
        )
    if not 0 <= opts.group < opts.partition_processes:
        raise Error(f"setting group: expected 0..{opts.partition_processes - 1}, got {opts.group}")
    return opts, bool(args.dump_config)


def dump(opts: NodeOptions) -> str:
    lines = []
    for f in fields(NodeOptions):
        value = getattr(opts, f.name)
        if isinstance(value, bool):
            text = "true" if value else "false"
        elif isinstance(value, int):
            text = str(value)
        else:
            text = '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'
        lines.append(f"{f.name.replace('_', '-')} = {text}")
    return "\n".join(lines) + "\n"
