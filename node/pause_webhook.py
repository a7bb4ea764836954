"""Pushes each paused invocation (retries exhausted) to an operator's webhook.

    notifier = PauseNotifier("http://alerts.internal/perdure", clock)
    tg.create_task(notifier.run())          # in the leader unit's task group
    notifier.notify(paused_action)          # from carry_out: never blocks, never raises

Only the leader carries out the `Paused` action, and a new leader skips the actions of records
applied before its announcement, so a pause is pushed once (at most once: a notification still
queued or being retried when leadership ends is dropped with the unit). Each is a POST of

    {"invocation_id": "inv_1...", "target": "Flaky/fail", "service": "Flaky",
     "handler": "fail", "key": null, "status": "paused",
     "last_failure": {"code": 500, "message": "..."},
     "paused_at": "2026-12-02T06:00:00.000Z"}

retried with backoff (ATTEMPTS attempts, BACKOFF_S doubling) on a connection error or an
answer other than 2xx, one notification at a time, off the invoker's path: the queue is
bounded (MAX_QUEUED; beyond it the newest are dropped and logged), so a dead webhook costs
memory that is bounded and no latency.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from dataclasses import dataclass
from urllib.parse import urlsplit

import orjson

from ingress.durations import rfc3339_ms
from node.clock import SYSTEM, Clock
from partition import actions as act

log = logging.getLogger(__name__)

ATTEMPTS = 5
BACKOFF_S = 0.5
TIMEOUT_S = 5.0
MAX_QUEUED = 10_000


class Error(Exception):
    """The webhook could not be reached or did not answer 2xx."""


@dataclass(frozen=True, slots=True)
class Target:
    scheme: str
    host: str
    port: int
    path: str

    @classmethod
    def parse(cls, url: str) -> Target:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"pause_webhook_url {url!r} is not an http:// or https:// URL")
        port = parts.port or (443 if parts.scheme == "https" else 80)
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        return cls(parts.scheme, parts.hostname, port, path)


def payload(paused: act.Paused) -> bytes:
    target = f"{paused.service}/{paused.key + '/' if paused.keyed else ''}{paused.handler}"
    return orjson.dumps(
        {
            "invocation_id": paused.invocation_id,
            "target": target,
            "service": paused.service,
            "handler": paused.handler,
            "key": paused.key if paused.keyed else None,
            "status": "paused",
            "last_failure": {"code": paused.failure_code, "message": paused.failure_message},
            "paused_at": rfc3339_ms(paused.at_ms),
        }
    )


class PauseNotifier:
    def __init__(self, url: str, clock: Clock = SYSTEM) -> None:
        self._target = Target.parse(url)
        self._clock = clock
        self._queue: asyncio.Queue[act.Paused] = asyncio.Queue(MAX_QUEUED)

    def notify(self, paused: act.Paused) -> None:
        try:
            self._queue.put_nowait(paused)
        except asyncio.QueueFull:
            log.warning(
                "pause webhook: %d notifications queued; dropping the one for %s",
                MAX_QUEUED,
                paused.invocation_id,
            )

    async def run(self) -> None:
        """Deliver queued notifications until cancelled."""
        while True:
            paused = await self._queue.get()
            await self._deliver(paused)

    async def _deliver(self, paused: act.Paused) -> None:
        body = payload(paused)
        delay = BACKOFF_S
        for attempt in range(1, ATTEMPTS + 1):
            try:
                await asyncio.wait_for(self._post(body), TIMEOUT_S)
                return
            except (OSError, TimeoutError, Error) as exc:
                if attempt == ATTEMPTS:
                    log.warning(
                        "pause webhook: giving up on %s after %d attempts: %s",
                        paused.invocation_id,
                        attempt,
                        exc,
                        extra={"invocation_id": paused.invocation_id},
                    )
                    return
                await self._clock.sleep(delay)
                delay *= 2

    async def _post(self, body: bytes) -> None:
        t = self._target
        context = ssl.create_default_context() if t.scheme == "https" else None
        reader, writer = await asyncio.open_connection(t.host, t.port, ssl=context)
        try:
            head = (
                f"POST {t.path} HTTP/1.1\r\nhost: {t.host}:{t.port}\r\n"
                "content-type: application/json\r\nuser-agent: perdure-pause-webhook\r\n"
                f"content-length: {len(body)}\r\nconnection: close\r\n\r\n"
            )
            writer.write(head.encode() + body)
            await writer.drain()
            status_line = await reader.readline()
        finally:
            writer.close()
        parts = status_line.split()
        if len(parts) < 2 or not parts[1].isdigit():
            raise Error(f"not an HTTP answer: {status_line[:80]!r}")
        if not 200 <= int(parts[1]) < 300:
            raise Error(f"answered {int(parts[1])}")
