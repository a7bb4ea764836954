"""Journal value codec: an app-wide hook to transform (e.g. encrypt) every journaled value.

``encode`` runs after serialization on inputs, outputs, state, run results, call arguments and
awakeable values before they leave the deployment; ``decode`` undoes it. Failures are never encoded.
"""

from __future__ import annotations

import abc
from collections.abc import Awaitable, Callable

__all__ = ["JournalValueCodec", "JournalValueCodecProvider"]


class JournalValueCodec(abc.ABC):
    """Transforms journaled bytes. Must be deterministic in ``decode(encode(x)) == x``."""

    @abc.abstractmethod
    def encode(self, buf: bytes) -> bytes:
        """Bytes about to be journaled -> stored bytes."""

    @abc.abstractmethod
    async def decode(self, buf: bytes) -> bytes:
        """Stored bytes -> the bytes that were encoded."""


JournalValueCodecProvider = Callable[[], Awaitable[JournalValueCodec]]
