"""The HTTP and gRPC server tests run on both the default asyncio loop and uvloop (production's)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping

import pytest
import uvloop

_BOTH_LOOPS: Mapping[str, Callable[[], asyncio.AbstractEventLoop]] = {
    "asyncio": asyncio.new_event_loop,
    "uvloop": uvloop.new_event_loop,
}
_DEFAULT_LOOP: Mapping[str, Callable[[], asyncio.AbstractEventLoop]] = {
    "asyncio": asyncio.new_event_loop
}


def pytest_asyncio_loop_factories(
    config: pytest.Config, item: pytest.Item
) -> Mapping[str, Callable[[], asyncio.AbstractEventLoop]]:
    both = item.path.name in ("test_http_server.py", "test_http_hygiene.py", "test_grpc_ingress.py")
    return _BOTH_LOOPS if both else _DEFAULT_LOOP
