"""The node's logs: text (default) or JSON lines (`log_format = "json"`, `--log-format json`).

A line about an invocation carries its context as fields: `invocation_id`, `service`,
`handler` and `partition` (the logical partition it lives in, from the id), given at the call
site as `extra=invocation(...)`. In JSON every line is one object with `time` (RFC 3339, UTC,
milliseconds), `level`, `logger`, `message`, the node's `node` and `group` (its partition
process), those fields when present, and `exception` (the traceback) when there is one. In text
they follow the message as `key=value`.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import orjson

from partition.ids import parse_invocation_id
from partition.routing import Partitioning

FIELDS = ("invocation_id", "service", "handler", "partition")
_partitioning: Partitioning | None = None


def invocation(
    invocation_id: str, service: str | None = None, handler: str | None = None
) -> dict[str, Any]:
    """The `extra=` of a log line about invocation `invocation_id`."""
    fields: dict[str, Any] = {"invocation_id": invocation_id}
    if service:
        fields["service"] = service
    if handler:
        fields["handler"] = handler
    if _partitioning is not None:
        try:
            fields["partition"] = _partitioning.partition_of_key(
                parse_invocation_id(invocation_id)[0]
            )
        except ValueError:  # not an invocation id: no partition
            pass
    return fields


class JsonFormatter(logging.Formatter):
    def __init__(self, node: str, group: int) -> None:
        super().__init__()
        self._node = node
        self._group = group

    def format(self, record: logging.LogRecord) -> str:
        seconds = int(record.created)
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds))
        line: dict[str, Any] = {
            "time": f"{stamp}.{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
            "node": self._node,
            "group": self._group,
        }
        for name in FIELDS:
            value = getattr(record, name, None)
            if value is not None:
                line[name] = value
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return orjson.dumps(line).decode()


class TextFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        context = [
            f"{name}={value}"
            for name in FIELDS
            if (value := getattr(record, name, None)) is not None
        ]
        if not context:
            return text
        first, sep, rest = text.partition("\n")  # after the message, before a traceback
        return f"{first} [{' '.join(context)}]{sep}{rest}"


def set_partitioning(partitioning: Partitioning) -> None:
    """How invocation ids map to partitions (known once the node opened its data directory)."""
    global _partitioning
    _partitioning = partitioning


def setup(level: str, fmt: str, node: str, group: int) -> None:
    """Configure the root logger of a node's process (replacing any handler it had)."""
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter(node, group) if fmt == "json" else TextFormatter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper())
