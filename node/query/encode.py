"""A query result as the restate CLI reads it: JSON rows or an Arrow IPC stream.

JSON follows arrow-json's defaults, which Restate's `/query` uses: `{"rows": [{col: value}]}`,
null columns left out of their row, bytes as lowercase hex, timestamps RFC 3339 (`...Z` when the
column has a time zone, the fraction only when it is not zero), durations ISO 8601 (`PT1.5S`).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import orjson
import pyarrow as pa

from node.query.engine import Result

ARROW_STREAM = "application/vnd.apache.arrow.stream"
_EPOCH = dt.datetime(1970, 1, 1)
_PER_SECOND = {"s": 1, "ms": 1_000, "us": 1_000_000, "ns": 1_000_000_000}


def arrow_stream(result: Result) -> bytes:
    """The Arrow IPC streaming format: schema, one message per batch, end of stream."""
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, result.schema) as writer:
        for batch in result.batches:
            writer.write_batch(batch)
    return bytes(sink.getvalue().to_pybytes())


def json_rows(result: Result) -> bytes:
    rows: list[dict[str, Any]] = []
    names = result.schema.names
    for batch in result.batches:
        columns = [_values(batch.column(i)) for i in range(batch.num_columns)]
        for r in range(batch.num_rows):
            row = {}
            for name, values in zip(names, columns, strict=True):
                value = values[r]
                if value is not None:
                    row[name] = value
            rows.append(row)
    return orjson.dumps({"rows": rows})


def _values(column: pa.Array) -> list[Any]:
    ty = column.type
    if pa.types.is_timestamp(ty):
        per_second = _PER_SECOND[ty.unit]
        zulu = ty.tz is not None
        raw = column.cast(pa.int64()).to_pylist()
        return [None if v is None else _timestamp(v, per_second, zulu) for v in raw]
    if pa.types.is_duration(ty):
        per_second = _PER_SECOND[ty.unit]
        return [None if v is None else _duration(v, per_second) for v in _ints(column)]
    if pa.types.is_binary(ty) or pa.types.is_large_binary(ty) or pa.types.is_binary_view(ty):
        return [None if v is None else v.hex() for v in column.to_pylist()]
    if pa.types.is_decimal(ty) or pa.types.is_date(ty) or pa.types.is_time(ty):
        return [None if v is None else str(v) for v in column.to_pylist()]
    values: list[Any] = column.to_pylist()
    return values


def _ints(column: pa.Array) -> list[int | None]:
    return column.cast(pa.int64()).to_pylist()  # type: ignore[no-any-return]


def _timestamp(value: int, per_second: int, zulu: bool) -> str:
    seconds, fraction = divmod(value, per_second)
    text = (_EPOCH + dt.timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%S")
    if fraction:
        text += "." + _fraction_digits(fraction, per_second)
    return text + ("Z" if zulu else "")


def _fraction_digits(fraction: int, per_second: int) -> str:
    """chrono's AutoSi: 3, 6 or 9 digits, as few as the value needs."""
    nanos = fraction * (1_000_000_000 // per_second)
    if nanos % 1_000_000 == 0:
        return f"{nanos // 1_000_000:03d}"
    if nanos % 1_000 == 0:
        return f"{nanos // 1_000:06d}"
    return f"{nanos:09d}"


def _duration(value: int, per_second: int) -> str:
    seconds, fraction = divmod(abs(value), per_second)
    sign = "-" if value < 0 else ""
    if not fraction:
        return f"{sign}PT{seconds}S"
    digits = f"{fraction * (1_000_000_000 // per_second):09d}".rstrip("0")
    return f"{sign}PT{seconds}.{digits}S"
