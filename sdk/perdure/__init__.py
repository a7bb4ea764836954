"""Perdure SDK: durable Services, Virtual Objects and Workflows.

Mirrors the public API of restate-sdk 1.2: a service written for it runs on Perdure after
``import perdure as restate``. Serve an app over gRPC with ``perdure.serve(app)`` or
``python -m perdure serve module:app``.
"""

from __future__ import annotations

from perdure import logging
from perdure.asyncio import as_completed, gather, select, wait_completed
from perdure.client import create_client
from perdure.client_types import HttpError, RestateClient, RestateClientSendHandle
from perdure.context import (
    Context,
    DurablePromise,
    ObjectContext,
    ObjectSharedContext,
    RestateDurableCallFuture,
    RestateDurableFuture,
    RestateDurableSleepFuture,
    RunOptions,
    ScopedContext,
    SendHandle,
    WorkflowContext,
    WorkflowSharedContext,
)
from perdure.endpoint import App, Endpoint, app
from perdure.entry_codec import JournalValueCodec, JournalValueCodecProvider
from perdure.exceptions import SdkInternalBaseException, TerminalError, is_internal_exception
from perdure.harness import HarnessEnvironment, create_test_harness, test_harness
from perdure.logging import RestateLoggingFilter, getLogger
from perdure.object import VirtualObject
from perdure.retry_policy import InvocationRetryPolicy
from perdure.server import serve, serve_async
from perdure.service import Service
from perdure.workflow import Workflow

__all__ = [
    "App",
    "Context",
    "DurablePromise",
    "Endpoint",
    "HarnessEnvironment",
    "HttpError",
    "InvocationRetryPolicy",
    "JournalValueCodec",
    "JournalValueCodecProvider",
    "ObjectContext",
    "ObjectSharedContext",
    "RestateClient",
    "RestateClientSendHandle",
    "RestateDurableCallFuture",
    "RestateDurableFuture",
    "RestateDurableSleepFuture",
    "RestateLoggingFilter",
    "RunOptions",
    "ScopedContext",
    "SdkInternalBaseException",
    "SendHandle",
    "Service",
    "TerminalError",
    "VirtualObject",
    "Workflow",
    "WorkflowContext",
    "WorkflowSharedContext",
    "app",
    "as_completed",
    "create_client",
    "create_test_harness",
    "gather",
    "getLogger",
    "is_internal_exception",
    "logging",
    "select",
    "serve",
    "serve_async",
    "test_harness",
    "wait_completed",
]
