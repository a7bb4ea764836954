"""OpenTelemetry names of restate-sdk: thin pass-through wrappers for now."""

from __future__ import annotations

from typing import Any

__all__ = ["RestateTracer", "RestateTracerProvider"]


class RestateTracer:
    """Wraps an OpenTelemetry tracer (spans are not yet parented under the invocation)."""

    def __init__(self, tracer: Any) -> None:
        self._tracer = tracer

    def __getattr__(self, name: str) -> Any:
        return getattr(self._tracer, name)


class RestateTracerProvider:
    """Wraps an OpenTelemetry tracer provider; its tracers are ``RestateTracer``s."""

    def __init__(self, provider: Any) -> None:
        self._provider = provider

    def get_tracer(self, *args: Any, **kwargs: Any) -> RestateTracer:
        return RestateTracer(self._provider.get_tracer(*args, **kwargs))

    def __getattr__(self, name: str) -> Any:
        return getattr(self._provider, name)
