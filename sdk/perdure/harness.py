"""Test harness (restate-sdk names). The in-process Perdure harness lands with issue #4."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from perdure.client_types import RestateClient
from perdure.endpoint import App
from perdure.entry_codec import JournalValueCodec

__all__ = [
    "HarnessEnvironment",
    "RestateContainer",
    "RestateTestHarness",
    "TestConfiguration",
    "create_test_harness",
    "test_harness",
]

_NOT_YET = "the Perdure test harness lands with issue #4"


@dataclass
class HarnessEnvironment:
    """What a running harness exposes."""

    ingress_url: str
    admin_api_url: str
    client: RestateClient


@dataclass
class TestConfiguration:
    """Options of the harness."""

    __test__ = False

    follow_logs: bool = False
    restate_image: str = "docker.io/restatedev/restate:latest"
    always_replay: bool = False
    disable_retries: bool = False


class RestateContainer:
    """Placeholder of restate-sdk's container wrapper (Perdure needs no container)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        raise NotImplementedError(_NOT_YET)


class RestateTestHarness:
    """Synchronous harness (deprecated in restate-sdk)."""

    __test__ = False

    def __init__(self, app: App, config: TestConfiguration | None = None) -> None:
        raise NotImplementedError(_NOT_YET)


@asynccontextmanager
async def create_test_harness(
    app: App,
    follow_logs: bool = False,
    restate_image: str = "docker.io/restatedev/restate:latest",
    always_replay: bool = False,
    disable_retries: bool = False,
    journal_value_codec: JournalValueCodec | None = None,
) -> AsyncIterator[HarnessEnvironment]:
    """Start a server with ``app`` registered and yield its URLs and a client."""
    raise NotImplementedError(_NOT_YET)
    yield  # pragma: no cover


def test_harness(
    app: App,
    follow_logs: bool = False,
    restate_image: str = "docker.io/restatedev/restate:latest",
    always_replay: bool = False,
    disable_retries: bool = False,
) -> RestateTestHarness:
    """Synchronous variant of ``create_test_harness``."""
    raise NotImplementedError(_NOT_YET)


test_harness.__test__ = False  # type: ignore[attr-defined]
