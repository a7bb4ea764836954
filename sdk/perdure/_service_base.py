"""What Service, VirtualObject and Workflow share: a name, options and a table of handlers."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any, ParamSpec, Protocol, TypeVar, cast

from perdure.handler import (
    ContextManagerFactory,
    Handler,
    HandlerKind,
    ServiceKind,
    ServiceOptions,
    ServiceTag,
    make_handler,
)
from perdure.retry_policy import InvocationRetryPolicy
from perdure.serde import Serde

P = ParamSpec("P")
T = TypeVar("T")


class HandlerDecorator(Protocol):
    """What ``@svc.handler(...)`` returns: keeps the decorated function's type."""

    def __call__(self, fn: Callable[P, Awaitable[T]], /) -> Callable[P, Awaitable[T]]: ...


class ServiceBase:
    """A named group of handlers with service-level options."""

    _kind: ServiceKind = "service"

    def __init__(
        self,
        name: str,
        description: str | None,
        metadata: dict[str, str] | None,
        options: ServiceOptions,
        invocation_context_managers: list[ContextManagerFactory] | None,
    ) -> None:
        self.service_tag = ServiceTag(self._kind, name, description, metadata)
        self.handlers: dict[str, Handler] = {}
        self.options = options
        self.invocation_context_managers = tuple(invocation_context_managers or ())

    @property
    def name(self) -> str:
        """The service name."""
        return self.service_tag.name

    def _decorator(
        self,
        *,
        name: str | None,
        kind: HandlerKind | None,
        accept: str,
        content_type: str,
        input_serde: Serde[Any],
        output_serde: Serde[Any],
        metadata: dict[str, str] | None,
        inactivity_timeout: timedelta | None = None,
        abort_timeout: timedelta | None = None,
        journal_retention: timedelta | None = None,
        idempotency_retention: timedelta | None = None,
        workflow_retention: timedelta | None = None,
        enable_lazy_state: bool | None = None,
        ingress_private: bool | None = None,
        invocation_retry_policy: InvocationRetryPolicy | None = None,
        invocation_context_managers: list[ContextManagerFactory] | None = None,
    ) -> HandlerDecorator:
        if name is not None and not isinstance(name, str):
            raise TypeError(
                f"{self.name}: handler decorators must be called, "
                "write @service.handler() (with parentheses), not @service.handler"
            )
        options = ServiceOptions(
            inactivity_timeout=inactivity_timeout,
            abort_timeout=abort_timeout,
            journal_retention=journal_retention,
            idempotency_retention=idempotency_retention,
            workflow_retention=workflow_retention,
            enable_lazy_state=enable_lazy_state,
            ingress_private=ingress_private,
            invocation_retry_policy=invocation_retry_policy,
        )
        managers = self.invocation_context_managers + tuple(invocation_context_managers or ())

        def wrap(fn: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
            return make_handler(
                self.service_tag,
                self.handlers,
                fn,
                name=name,
                kind=kind,
                accept=accept,
                content_type=content_type,
                input_serde=input_serde,
                output_serde=output_serde,
                metadata=metadata,
                options=options,
                context_managers=managers,
            )

        return cast(HandlerDecorator, wrap)
