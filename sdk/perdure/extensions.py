"""Hooks for libraries built on the SDK: the running context, and context-var context managers."""

from __future__ import annotations

import contextvars
import functools
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any, Generic, ParamSpec, TypeVar

__all__ = ["contextvar", "current_context"]

T = TypeVar("T")
P = ParamSpec("P")

_CURRENT: contextvars.ContextVar[Any] = contextvars.ContextVar(
    "perdure_current_context", default=None
)


def current_context() -> Any:
    """The ``Context`` of the handler running in this task, or ``None`` outside handlers."""
    return _CURRENT.get()


def set_current_context(ctx: Any) -> contextvars.Token[Any]:
    """Install ``ctx`` as the running context (used by the SDK around each attempt)."""
    return _CURRENT.set(ctx)


class _ContextVarManager(Generic[P, T]):
    """Wraps an async-context-manager factory; the value it yields is readable as ``.value``."""

    def __init__(self, factory: Callable[P, AbstractAsyncContextManager[T]]) -> None:
        self._factory = factory
        self._var: contextvars.ContextVar[T | None] = contextvars.ContextVar(
            getattr(factory, "__name__", "perdure_contextvar"), default=None
        )
        functools.update_wrapper(self, factory)

    @property
    def value(self) -> T | None:
        """The value yielded by the innermost active instance in this task."""
        return self._var.get()

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> AbstractAsyncContextManager[None]:
        return self._enter(*args, **kwargs)

    @asynccontextmanager
    async def _enter(self, *args: Any, **kwargs: Any) -> AsyncIterator[None]:
        async with self._factory(*args, **kwargs) as value:
            token = self._var.set(value)
            try:
                yield None
            finally:
                self._var.reset(token)


def contextvar(
    factory: Callable[P, AbstractAsyncContextManager[T]],
) -> _ContextVarManager[P, T]:
    """Decorate an ``@asynccontextmanager`` so the value it yields is readable as ``.value``."""
    return _ContextVarManager(factory)
