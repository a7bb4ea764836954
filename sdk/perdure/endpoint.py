"""The deployment: an ``App`` holding services, served over gRPC (``perdure.serve``) and ASGI."""

from __future__ import annotations

import inspect
from collections.abc import Iterable
from typing import Any, Literal

from perdure import _asgi
from perdure._service_base import ServiceBase
from perdure.discovery import manifest, manifest_json
from perdure.entry_codec import JournalValueCodec, JournalValueCodecProvider
from perdure.handler import Handler
from perdure_proto import protocol_pb2 as pb

__all__ = ["App", "Endpoint", "app"]

Protocol = Literal["bidi", "request_response"]


class App:
    """A deployment: the services it hosts and how they are served.

    It is an ASGI3 callable (``/health``, ``/discover``) and the thing ``perdure.serve`` serves over
    gRPC, where the Perdure server discovers it and streams invocations to it.

    ``always_replay`` (also turned on by the environment variable ``PERDURE_ALWAYS_REPLAY=1`` where
    the app is served): suspend after every step the handler would wait for, so every step runs
    under a fresh replay of the journal; this flushes out non-deterministic handler code.
    """

    def __init__(
        self,
        services: Iterable[ServiceBase],
        protocol: Protocol | None = None,
        identity_keys: list[str] | None = None,
        journal_value_codec: JournalValueCodec | JournalValueCodecProvider | None = None,
    ) -> None:
        self.services: dict[str, ServiceBase] = {}
        for service in services:
            if service.name in self.services:
                raise ValueError(f"Service {service.name!r} is bound twice to this app")
            self.services[service.name] = service
        self.protocol = protocol
        self.identity_keys = list(identity_keys or [])
        self._codec_source = journal_value_codec
        self._codec: JournalValueCodec | None = None
        self.always_replay = False

    def handler(self, service: str, handler: str) -> Handler | None:
        """The handler ``service/handler``, or ``None`` when not hosted here."""
        svc = self.services.get(service)
        return None if svc is None else svc.handlers.get(handler)

    def manifest(self) -> pb.Manifest:
        """The manifest answered by ``Discover``."""
        return manifest(self.services.values())

    def manifest_json(self) -> dict[str, Any]:
        """The manifest in Restate's JSON shape (``/discover``)."""
        return manifest_json(self.services.values())

    async def journal_codec(self) -> JournalValueCodec | None:
        """The journal value codec, resolving a provider on first use."""
        if self._codec is None and self._codec_source is not None:
            source = self._codec_source
            if isinstance(source, JournalValueCodec):
                self._codec = source
            else:
                made = source()
                self._codec = await made if inspect.isawaitable(made) else made
        return self._codec

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await _asgi.handle(self.manifest_json, scope, receive, send)


class Endpoint:
    """Builder form: ``Endpoint().bind(svc, ...).app()``."""

    def __init__(self) -> None:
        self.services: list[ServiceBase] = []
        self.protocol: Protocol | None = None
        self.identity_keys: list[str] = []

    def bind(self, *services: ServiceBase) -> Endpoint:
        for service in services:
            if any(s.name == service.name for s in self.services):
                raise ValueError(f"Service {service.name!r} is already bound")
            self.services.append(service)
        return self

    def streaming_protocol(self) -> Endpoint:
        self.protocol = "bidi"
        return self

    def request_response_protocol(self) -> None:
        self.protocol = "request_response"

    def identity_key(self, identity_key: str) -> None:
        self.identity_keys.append(identity_key)

    def app(self) -> App:
        return App(self.services, self.protocol, self.identity_keys or None)


def app(
    services: Iterable[ServiceBase],
    protocol: Protocol | None = None,
    identity_keys: list[str] | None = None,
    journal_value_codec: JournalValueCodec | JournalValueCodecProvider | None = None,
) -> App:
    """Create the deployment app for ``services``."""
    return App(services, protocol, identity_keys, journal_value_codec)
