"""Durations and timestamps as the ingress reads and writes them.

`?delay=` accepts what Restate accepts (ISO-8601 `PT10S`, friendly `10s`, `1m30s`, `60 sec`)
plus a bare integer as milliseconds, which is what the official Python client sends.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime

_MS_PER_UNIT: dict[str, float] = {}
for _names, _ms in (
    (("ns", "nsec", "nsecs", "nanos", "nanosecond", "nanoseconds"), 1e-6),
    (("us", "µs", "usec", "usecs", "micros", "microsecond", "microseconds"), 1e-3),
    (("ms", "msec", "msecs", "millis", "millisecond", "milliseconds"), 1.0),
    (("s", "sec", "secs", "second", "seconds"), 1000.0),
    (("m", "min", "mins", "minute", "minutes"), 60_000.0),
    (("h", "hr", "hrs", "hour", "hours"), 3_600_000.0),
    (("d", "day", "days"), 86_400_000.0),
    (("w", "wk", "wks", "week", "weeks"), 604_800_000.0),
):
    for _name in _names:
        _MS_PER_UNIT[_name] = _ms

_FRIENDLY_PART = re.compile(r"\s*(\d+(?:\.\d+)?)\s*([a-zµ]+)\s*,?", re.IGNORECASE | re.ASCII)
_ISO = re.compile(
    r"P(?:(?P<w>\d+(?:[.,]\d+)?)W)?(?:(?P<d>\d+(?:[.,]\d+)?)D)?"
    r"(?:T(?:(?P<h>\d+(?:[.,]\d+)?)H)?(?:(?P<m>\d+(?:[.,]\d+)?)M)?(?:(?P<s>\d+(?:[.,]\d+)?)S)?)?",
    re.IGNORECASE | re.ASCII,
)
_ISO_MS = {"w": 604_800_000.0, "d": 86_400_000.0, "h": 3_600_000.0, "m": 60_000.0, "s": 1000.0}


MAX_DELAY_MS = 100 * 365 * 86_400_000  # a century: what a timestamp of the log can carry, and more
MAX_DELAY_TEXT = 64  # characters; any delay up to MAX_DELAY_MS is written in far fewer


def parse_delay_ms(text: str) -> int:
    """Parse a delay into whole milliseconds; ValueError with a readable message if invalid
    (including a delay beyond `MAX_DELAY_MS`, which no timer could represent)."""
    value = text.strip()
    if not value:
        raise ValueError("the delay is empty")
    if len(value) > MAX_DELAY_TEXT:
        raise ValueError(f"the delay is {len(value)} characters long, more than {MAX_DELAY_TEXT}")
    if value.isascii() and value.isdigit():
        ms = int(value)
    elif value[0] in "Pp":
        ms = _parse_iso(value)
    else:
        ms = _parse_friendly(value)
    if ms > MAX_DELAY_MS:
        raise ValueError(
            f"the delay '{value}' is longer than the maximum of {MAX_DELAY_MS // 86_400_000} days"
        )
    return ms


def _parse_iso(value: str) -> int:
    match = _ISO.fullmatch(value)
    if match is None or not any(match.groupdict().values()) or value.upper().endswith("T"):
        raise ValueError(
            f"'{value}' is not an ISO-8601 duration such as PT10S (years and months are "
            "not accepted: their length varies)"
        )
    total = 0.0
    for unit, number in match.groupdict().items():
        if number is not None:
            total += float(number.replace(",", ".")) * _ISO_MS[unit]
    return _whole_ms(total, value)


def _parse_friendly(value: str) -> int:
    total = 0.0
    pos = 0
    while pos < len(value):
        match = _FRIENDLY_PART.match(value, pos)
        if match is None:
            break
        unit_ms = _MS_PER_UNIT.get(match.group(2).lower())
        if unit_ms is None:
            raise ValueError(f"unknown unit '{match.group(2)}' in delay '{value}'")
        total += float(match.group(1)) * unit_ms
        pos = match.end()
    if pos == 0 or pos < len(value):
        raise ValueError(
            f"'{value}' is not a duration; use ISO-8601 (PT10S), a friendly form "
            "(10s, 500ms, 1m30s) or a number of milliseconds"
        )
    return _whole_ms(total, value)


def _whole_ms(total: float, value: str) -> int:
    if not math.isfinite(total) or total > MAX_DELAY_MS:  # round(inf) would raise OverflowError
        raise ValueError(
            f"the delay '{value}' is longer than the maximum of {MAX_DELAY_MS // 86_400_000} days"
        )
    return round(total)


def rfc3339_ms(epoch_ms: int) -> str:
    """`2026-01-02T03:04:05.678Z`."""
    moment = datetime.fromtimestamp(epoch_ms / 1000, tz=UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def friendly_ms(duration_ms: int) -> str:
    """`1 day`, `1 hour 30 minutes`, `500 milliseconds`: jiff's verbose friendly format,
    which Restate's admin API prints (and parses back)."""
    parts = []
    rest = max(duration_ms, 0)
    for unit, size in (
        ("day", 86_400_000),
        ("hour", 3_600_000),
        ("minute", 60_000),
        ("second", 1000),
        ("millisecond", 1),
    ):
        count, rest = divmod(rest, size)
        if count:
            parts.append(f"{count} {unit}{'' if count == 1 else 's'}")
    return " ".join(parts) or "0 seconds"
