"""Pushes each paused invocation (retries exhausted) to an operator's webhook, at least once.

    notifier = PauseNotifier("http://alerts.internal/perdure", store, proposer, clock)
    tg.create_task(notifier.run())          # in the leader unit's task group
    notifier.notify(paused_action)          # from carry_out: never blocks, never raises

A pause leaves a notice in the partition (partition/on_pause.py) in the same write batch. The
leader unit's notifier pushes every notice, the ones found on taking leadership first, then each
new `Paused` action, one at a time, and proposes `PauseNotified` once the webhook answered 2xx:
that drops the notice on every replica. A notification still being retried when leadership moves
(or the node restarts) is pushed again by the next leader, so it arrives at least once; a
receiver that must not see one twice keys on `invocation_id` and `paused_at`. Each is a POST of

    {"invocation_id": "inv_1...", "target": "Flaky/fail", "service": "Flaky",
     "handler": "fail", "key": null, "status": "paused",
     "last_failure": {"code": 500, "message": "..."},
     "paused_at": "2026-12-02T06:00:00.000Z"}

retried on a connection error or an answer other than 2xx, with backoff (BACKOFF_S doubling up
to MAX_BACKOFF_S), for as long as the invocation stays paused: one resumed, killed or purged
meanwhile is not pushed and its notice is dropped. Off the invoker's path: a dead webhook costs
one retry loop and no latency. Without a webhook (url ""), notices are dropped as they come.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from dataclasses import dataclass
from urllib.parse import urlsplit

import orjson

from ingress.durations import rfc3339_ms
from log.api import Error as LogError
from node.clock import SYSTEM, Clock
from node.proposer import Proposer
from partition import actions as act
from partition import on_pause, tables
from perdure_proto import records_pb2 as rec
from perdure_proto import storage_pb2 as st

log = logging.getLogger(__name__)

BACKOFF_S = 0.5
MAX_BACKOFF_S = 30.0
TIMEOUT_S = 5.0
DROP_BATCH = 1000  # notices dropped by one PauseNotified record


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
    def __init__(
        self, url: str, store: tables.ScanReader, proposer: Proposer, clock: Clock = SYSTEM
    ) -> None:
        """`url` "" : no webhook (notices are dropped). Raises ValueError for a bad `url`."""
        self._target = Target.parse(url) if url else None
        self._store = store
        self._proposer = proposer
        self._clock = clock
        self._queued: dict[str, int] = {}  # invocation id -> paused at (ms), in arrival order
        self._wake = asyncio.Event()

    def notify(self, paused: act.Paused) -> None:
        self._queued[paused.invocation_id] = paused.at_ms
        self._wake.set()

    async def run(self) -> None:
        """Push the partition's notices, then each new one, until cancelled."""
        for invocation_id, at_ms in tables.pause_notices(self._store):
            self._queued.setdefault(invocation_id, at_ms)
        while True:
            if not self._queued:
                self._wake.clear()
                await self._wake.wait()
                continue
            if self._target is None:
                taken, self._queued = list(self._queued.items()), {}
                for i in range(0, len(taken), DROP_BATCH):
                    await self._drop(taken[i : i + DROP_BATCH])
                continue
            invocation_id = next(iter(self._queued))
            at_ms = self._queued.pop(invocation_id)
            await self._push(self._target, invocation_id, at_ms)
            await self._drop([(invocation_id, at_ms)])

    async def _push(self, target: Target, invocation_id: str, at_ms: int) -> None:
        """Until the webhook took it, or the invocation is no longer paused."""
        delay = BACKOFF_S
        attempt = 0
        while (paused := self._still_paused(invocation_id, at_ms)) is not None:
            attempt += 1
            try:
                await asyncio.wait_for(self._post(target, payload(paused)), TIMEOUT_S)
                return
            except (OSError, TimeoutError, Error) as exc:
                log.warning(
                    "pause webhook: attempt %d for %s failed (%s); retrying in %.1f s",
                    attempt,
                    invocation_id,
                    exc or type(exc).__name__,
                    delay,
                    extra={"invocation_id": invocation_id},
                )
            await self._clock.sleep(delay)
            delay = min(delay * 2, MAX_BACKOFF_S)

    def _still_paused(self, invocation_id: str, at_ms: int) -> act.Paused | None:
        status = tables.get_status(self._store, invocation_id)
        if status is None or status.phase != st.PAUSED:
            return None
        return on_pause.paused(invocation_id, status, at_ms)

    async def _drop(self, notices: list[tuple[str, int]]) -> None:
        """Drop the notices of these pauses (pushed, moot, or no webhook) on every replica."""
        done = rec.PauseNotified(
            invocation_ids=[i for i, _ in notices], paused_at_ms=[at for _, at in notices]
        )
        try:
            await self._proposer.propose(rec.Envelope(pause_notified=done))
        except LogError as exc:  # the notices stay: the next leadership pushes them again
            log.warning("pause webhook: could not record %d notices done: %s", len(notices), exc)

    async def _post(self, t: Target, body: bytes) -> None:
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
