"""The public API mirrors restate-sdk 1.2 (names, submodules, exact signatures)."""

from __future__ import annotations

import importlib
import inspect
from typing import Any

import pytest

import perdure
from perdure.context import RunOptions
from perdure.serde import DefaultSerde

RESTATE_ALL = [
    "Service",
    "VirtualObject",
    "Workflow",
    "Context",
    "ObjectContext",
    "ObjectSharedContext",
    "WorkflowContext",
    "WorkflowSharedContext",
    "DurablePromise",
    "RestateDurableFuture",
    "RestateDurableCallFuture",
    "RestateDurableSleepFuture",
    "SendHandle",
    "ScopedContext",
    "RunOptions",
    "TerminalError",
    "JournalValueCodec",
    "JournalValueCodecProvider",
    "app",
    "create_test_harness",
    "test_harness",
    "HarnessEnvironment",
    "gather",
    "as_completed",
    "wait_completed",
    "select",
    "logging",
    "RestateLoggingFilter",
    "InvocationRetryPolicy",
    "SdkInternalBaseException",
    "is_internal_exception",
    "getLogger",
    "RestateClient",
    "RestateClientSendHandle",
    "HttpError",
    "create_client",
]

SUBMODULES = {
    "exceptions": "TerminalError RetryableError SdkInternalBaseException SuspendedException "
    "SdkInternalException is_internal_exception",
    "serde": "Serde DefaultSerde JsonSerde BytesSerde PydanticJsonSerde MsgspecJsonSerde",
    "context": "Context ObjectContext ObjectSharedContext WorkflowContext WorkflowSharedContext "
    "Request RunOptions AttemptFinishedEvent KeyValueStore HandlerType DurablePromise",
    "service": "Service",
    "object": "VirtualObject",
    "workflow": "Workflow",
    "endpoint": "Endpoint app",
    "retry_policy": "InvocationRetryPolicy",
    "client": "create_client",
    "client_types": "Client RestateClient RestateScopedClient RestateClientSendHandle HttpError",
    "harness": "create_test_harness test_harness RestateTestHarness RestateContainer "
    "TestConfiguration",
    "logging": "getLogger RestateLoggingFilter",
    "extensions": "current_context contextvar",
    "_preview": "explicit_recovery",
    "asyncio": "select gather as_completed wait_completed",
    "ext.tracing": "RestateTracer RestateTracerProvider",
}


def test_every_name_of_restate_all_is_exported() -> None:
    missing = [n for n in RESTATE_ALL if not hasattr(perdure, n)]
    assert missing == []
    assert set(RESTATE_ALL) <= set(perdure.__all__)


@pytest.mark.parametrize("module", sorted(SUBMODULES))
def test_submodule_paths_exist(module: str) -> None:
    mod = importlib.import_module(f"perdure.{module}")
    missing = [n for n in SUBMODULES[module].split() if not hasattr(mod, n)]
    assert missing == []


def _fmt(fn: Any) -> str:
    parts: list[str] = []
    params = list(inspect.signature(fn).parameters.values())
    for i, p in enumerate(params):
        if p.kind is p.VAR_POSITIONAL:
            parts.append(f"*{p.name}")
        elif p.kind is p.VAR_KEYWORD:
            parts.append(f"**{p.name}")
        elif p.default is p.empty:
            parts.append(p.name)
        elif isinstance(p.default, DefaultSerde):
            parts.append(f"{p.name}=DefaultSerde()")
        elif isinstance(p.default, RunOptions):
            parts.append(f"{p.name}=RunOptions()")
        else:
            parts.append(f"{p.name}={p.default!r}")
        nxt = params[i + 1] if i + 1 < len(params) else None
        if p.kind is p.POSITIONAL_ONLY and (nxt is None or nxt.kind is not p.POSITIONAL_ONLY):
            parts.append("/")
    return ", ".join(parts)


_SVC_OPTS = (
    "inactivity_timeout=None, abort_timeout=None, journal_retention=None, "
    "idempotency_retention=None"
)
_IO = (
    "name=None, accept='application/json', content_type='application/json', "
    "input_serde=DefaultSerde(), output_serde=DefaultSerde(), metadata=None"
)
_TAIL = "ingress_private=None, invocation_retry_policy=None, invocation_context_managers=None"

SIGNATURES: dict[str, str] = {
    "Service.__init__": f"self, name, description=None, metadata=None, {_SVC_OPTS}, {_TAIL}",
    "VirtualObject.__init__": (
        f"self, name, description=None, metadata=None, {_SVC_OPTS}, enable_lazy_state=None, {_TAIL}"
    ),
    "Workflow.__init__": (
        f"self, name, description=None, metadata=None, {_SVC_OPTS}, enable_lazy_state=None, {_TAIL}"
    ),
    "Service.handler": f"self, {_IO}, {_SVC_OPTS}, {_TAIL}",
    "VirtualObject.handler": (
        f"self, {_IO}, {_SVC_OPTS}, enable_lazy_state=None, {_TAIL}".replace(
            "name=None, ", "name=None, kind='exclusive', "
        )
    ),
    "Workflow.main": (
        f"self, {_IO}, inactivity_timeout=None, abort_timeout=None, journal_retention=None, "
        f"workflow_retention=None, enable_lazy_state=None, {_TAIL}"
    ),
    "Workflow.handler": f"self, {_IO}, {_SVC_OPTS}, enable_lazy_state=None, {_TAIL}",
    "Context.request": "self",
    "Context.run_typed": "self, name, action, options=RunOptions(), /, *args, **kwargs",
    "Context.run": (
        "self, name, action, serde=DefaultSerde(), max_attempts=None, max_retry_duration=None, "
        "type_hint=None, args=None"
    ),
    "Context.sleep": "self, delta, name=None",
    "Context.service_call": "self, tpe, arg, idempotency_key=None, headers=None",
    "Context.service_send": "self, tpe, arg, send_delay=None, idempotency_key=None, headers=None",
    "Context.object_call": "self, tpe, key, arg, idempotency_key=None, headers=None",
    "Context.object_send": (
        "self, tpe, key, arg, send_delay=None, idempotency_key=None, headers=None"
    ),
    "Context.workflow_call": "self, tpe, key, arg, idempotency_key=None, headers=None",
    "Context.workflow_send": (
        "self, tpe, key, arg, send_delay=None, idempotency_key=None, headers=None"
    ),
    "Context.generic_call": (
        "self, service, handler, arg, key=None, idempotency_key=None, headers=None, scope=None, "
        "limit_key=None"
    ),
    "Context.generic_send": (
        "self, service, handler, arg, key=None, send_delay=None, idempotency_key=None, "
        "headers=None, scope=None, limit_key=None"
    ),
    "Context.awakeable": "self, serde=DefaultSerde(), type_hint=None",
    "Context.resolve_awakeable": "self, name, value, serde=DefaultSerde()",
    "Context.reject_awakeable": "self, name, failure_message, failure_code=500",
    "Context.signal": "self, name, serde=DefaultSerde(), type_hint=None",
    "Context.resolve_signal": "self, invocation_id, name, value, serde=DefaultSerde()",
    "Context.reject_signal": "self, invocation_id, name, failure_message, failure_code=500",
    "Context.cancel_invocation": "self, invocation_id",
    "Context.attach_invocation": "self, invocation_id, serde=DefaultSerde(), type_hint=None",
    "Context.random": "self",
    "Context.uuid": "self",
    "Context.time": "self",
    "Context.scope": "self, scope",
    "ObjectContext.key": "self",
    "ObjectContext.get": "self, name, serde=DefaultSerde(), type_hint=None, entry_name=None",
    "ObjectContext.set": "self, name, value, serde=DefaultSerde(), entry_name=None",
    "ObjectContext.clear": "self, name, entry_name=None",
    "ObjectContext.clear_all": "self, entry_name=None",
    "ObjectContext.state_keys": "self, entry_name=None",
    "ObjectSharedContext.get": "self, name, serde=DefaultSerde(), type_hint=None, entry_name=None",
    "ObjectSharedContext.state_keys": "self, entry_name=None",
    "WorkflowContext.promise": "self, name, serde=DefaultSerde(), type_hint=None",
    "WorkflowSharedContext.promise": "self, name, serde=DefaultSerde(), type_hint=None",
    "DurablePromise.resolve": "self, value",
    "DurablePromise.reject": "self, message, code=500",
    "ScopedContext.service_call": (
        "self, tpe, arg, limit_key=None, idempotency_key=None, headers=None"
    ),
    "ScopedContext.object_send": (
        "self, tpe, key, arg, send_delay=None, limit_key=None, idempotency_key=None, headers=None"
    ),
    "TerminalError.__init__": "self, message, status_code=500, metadata=None",
    "exceptions.RetryableError.__init__": "self, message, status_code=500, retry_after=None",
    "app": "services, protocol=None, identity_keys=None, journal_value_codec=None",
    "create_client": "ingress, headers=None, journal_value_codec=None",
    "create_test_harness": (
        "app, follow_logs=False, restate_image='docker.io/restatedev/restate:latest', "
        "always_replay=False, disable_retries=False, journal_value_codec=None"
    ),
    "getLogger": "name=None",
    "serve": "app, host='127.0.0.1', port=9080",
    "serve_async": "app, host='127.0.0.1', port=9080",
    "serde.DefaultSerde.__init__": "self, type_hint=None",
    "client_types.RestateClient.generic_send": (
        "self, service, handler, arg, key=None, send_delay=None, idempotency_key=None, "
        "headers=None, scope=None, limit_key=None"
    ),
}


def _resolve(path: str) -> Any:
    head, *rest = path.split(".")
    obj: Any = getattr(perdure, head, None)
    if obj is None or inspect.ismodule(obj):
        obj = importlib.import_module(f"perdure.{head}")
    for part in rest:
        obj = getattr(obj, part)
    return obj


@pytest.mark.parametrize("path", sorted(SIGNATURES))
def test_signature_matches_restate_sdk(path: str) -> None:
    assert _fmt(_resolve(path)) == SIGNATURES[path]


def test_run_options_fields_and_defaults() -> None:
    fields = list(inspect.signature(RunOptions).parameters)
    assert fields == [
        "serde",
        "type_hint",
        "max_attempts",
        "max_duration",
        "initial_retry_interval",
        "max_retry_interval",
        "retry_interval_factor",
        "max_retry_duration",
    ]
    assert isinstance(RunOptions().serde, DefaultSerde)


def test_request_fields() -> None:
    from perdure.context import Request

    assert list(inspect.signature(Request).parameters) == [
        "id",
        "headers",
        "attempt_headers",
        "body",
        "attempt_finished_event",
        "scope",
        "limit_key",
        "idempotency_key",
    ]


def test_context_hierarchy() -> None:
    from perdure.context import KeyValueStore

    assert issubclass(perdure.ObjectContext, perdure.Context)
    assert issubclass(perdure.ObjectContext, KeyValueStore)
    assert issubclass(perdure.WorkflowContext, perdure.ObjectContext)
    assert issubclass(perdure.WorkflowSharedContext, perdure.ObjectSharedContext)
    assert not issubclass(perdure.ObjectSharedContext, KeyValueStore)


def test_internal_exceptions_escape_except_exception() -> None:
    from perdure.exceptions import SuspendedException

    assert not issubclass(SuspendedException, Exception)
    assert perdure.is_internal_exception(SuspendedException())
    assert not perdure.is_internal_exception(ValueError())
