"""ASGI face of an App: ``/health`` and ``/discover`` (so ``hypercorn module:app`` still starts).

Invocations are not served over HTTP: Perdure talks to deployments over gRPC (``perdure.serve``).
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from perdure.discovery import SDK_VERSION

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

_MANIFEST_TYPES = {f"application/vnd.restate.endpointmanifest.v{v}+json" for v in (2, 3, 4)}


async def _respond(send: Send, status: int, body: bytes, content_type: str) -> None:
    headers = [
        (b"content-type", content_type.encode()),
        (b"content-length", str(len(body)).encode()),
        (b"x-restate-server", SDK_VERSION.encode()),
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def _accepted_manifest_type(scope: Scope) -> str | None:
    """The manifest content type the client asked for; ``None`` if it asked for an unknown one."""
    for name, value in scope.get("headers", []):
        if name.lower() == b"accept":
            for part in value.decode("latin-1").split(","):
                media = str(part.split(";")[0].strip())
                if media in _MANIFEST_TYPES:
                    return media
            if "endpointmanifest" in value.decode("latin-1"):
                return None
    return "application/vnd.restate.endpointmanifest.v2+json"


async def handle(
    manifest: Callable[[], dict[str, Any]], scope: Scope, receive: Receive, send: Send
) -> None:
    """Serve one ASGI connection scope."""
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    if scope["type"] != "http":
        return
    path = str(scope.get("path", "")).rstrip("/")
    if path.endswith("/health") or path == "/health":
        await _respond(send, 200, b'{"status":"ok"}', "application/json")
    elif path.endswith("/discover"):
        media = _accepted_manifest_type(scope)
        if media is None:
            await _respond(send, 415, b"unsupported manifest version", "text/plain")
        else:
            await _respond(send, 200, json.dumps(manifest()).encode(), media)
    elif "/invoke/" in path:
        body = b"invocations are served over gRPC: run `python -m perdure serve module:app`"
        await _respond(send, 404, body, "text/plain")
    else:
        await _respond(send, 404, b"not found", "text/plain")
