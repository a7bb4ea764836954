"""The deployment manifest: protobuf for Perdure's ``Discover`` RPC, JSON in Restate's v4 shape."""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import timedelta
from typing import Any

from perdure._service_base import ServiceBase
from perdure.handler import Handler, ServiceOptions
from perdure_proto import protocol_pb2 as pb

__all__ = ["PROTOCOL_VERSION", "SDK_VERSION", "manifest", "manifest_json"]

PROTOCOL_VERSION = 1
SDK_VERSION = "perdure-sdk-python/0.1.0"

_SERVICE_TYPES = {"service": pb.SERVICE, "object": pb.VIRTUAL_OBJECT, "workflow": pb.WORKFLOW}
_HANDLER_TYPES = {
    None: pb.HANDLER_TYPE_UNSPECIFIED,
    "exclusive": pb.EXCLUSIVE,
    "shared": pb.SHARED,
    "workflow": pb.WORKFLOW_RUN,
}
_JSON_SERVICE_TYPES = {"service": "SERVICE", "object": "VIRTUAL_OBJECT", "workflow": "WORKFLOW"}
_JSON_HANDLER_TYPES = {"exclusive": "EXCLUSIVE", "shared": "SHARED", "workflow": "WORKFLOW"}


def _ms(delta: timedelta | None) -> int | None:
    return None if delta is None else int(delta.total_seconds() * 1000)


def _options(o: ServiceOptions) -> pb.Options:
    out = pb.Options()
    for field, value in (
        ("inactivity_timeout_ms", _ms(o.inactivity_timeout)),
        ("abort_timeout_ms", _ms(o.abort_timeout)),
        ("journal_retention_ms", _ms(o.journal_retention)),
        ("idempotency_retention_ms", _ms(o.idempotency_retention)),
        ("workflow_retention_ms", _ms(o.workflow_retention)),
    ):
        if value is not None:
            setattr(out, field, value)
    if o.ingress_private is not None:
        out.ingress_private = o.ingress_private
    if o.enable_lazy_state is not None:
        out.enable_lazy_state = o.enable_lazy_state
    policy = o.invocation_retry_policy
    if policy is not None:
        rp = out.retry_policy
        if policy.initial_interval is not None:
            rp.initial_interval_ms = int(policy.initial_interval.total_seconds() * 1000)
        if policy.exponentiation_factor is not None:
            rp.exponentiation_factor = policy.exponentiation_factor
        if policy.max_interval is not None:
            rp.max_interval_ms = int(policy.max_interval.total_seconds() * 1000)
        if policy.max_attempts is not None:
            rp.max_attempts = policy.max_attempts
        if policy.on_max_attempts is not None:
            rp.on_max_attempts = pb.KILL if policy.on_max_attempts == "kill" else pb.PAUSE
    return out


def _schema_text(schema: Any) -> str:
    return "" if schema is None or schema is True else json.dumps(schema)


def _handler_spec(h: Handler) -> pb.HandlerSpec:
    io = h.io
    return pb.HandlerSpec(
        name=h.name,
        ty=_HANDLER_TYPES[h.kind],
        documentation=h.documentation or "",
        metadata=h.metadata or {},
        input=pb.InputSpec(
            present=io.has_input,
            required=False,
            content_type=io.accept if io.has_input else "",
            json_schema=_schema_text(io.input_schema),
        ),
        output=pb.OutputSpec(
            present=io.has_output,
            content_type=io.content_type if io.has_output else "",
            set_content_type_if_empty=False,
            json_schema=_schema_text(io.output_schema),
        ),
        options=_options(h.options),
    )


def manifest(services: Iterable[ServiceBase]) -> pb.Manifest:
    """The protobuf manifest answered by the ``Discover`` RPC."""
    specs = [
        pb.ServiceSpec(
            name=s.name,
            ty=_SERVICE_TYPES[s.service_tag.kind],
            documentation=s.service_tag.description or "",
            metadata=s.service_tag.metadata or {},
            options=_options(s.options),
            handlers=[_handler_spec(h) for h in s.handlers.values()],
        )
        for s in services
    ]
    return pb.Manifest(
        min_protocol_version=PROTOCOL_VERSION,
        max_protocol_version=PROTOCOL_VERSION,
        sdk_version=SDK_VERSION,
        services=specs,
    )


def _json_options(o: ServiceOptions, target: dict[str, Any]) -> None:
    for key, value in (
        ("inactivityTimeout", _ms(o.inactivity_timeout)),
        ("abortTimeout", _ms(o.abort_timeout)),
        ("journalRetention", _ms(o.journal_retention)),
        ("idempotencyRetention", _ms(o.idempotency_retention)),
        ("workflowCompletionRetention", _ms(o.workflow_retention)),
        ("enableLazyState", o.enable_lazy_state),
        ("ingressPrivate", o.ingress_private),
    ):
        if value is not None:
            target[key] = value
    policy = o.invocation_retry_policy
    if policy is not None:
        retry: tuple[tuple[str, Any], ...] = (
            ("retryPolicyInitialInterval", _ms(policy.initial_interval)),
            ("retryPolicyMaxInterval", _ms(policy.max_interval)),
            ("retryPolicyMaxAttempts", policy.max_attempts),
            ("retryPolicyExponentiationFactor", policy.exponentiation_factor),
            ("retryPolicyOnMaxAttempts", (policy.on_max_attempts or "").upper() or None),
        )
        for key, setting in retry:
            if setting is not None:
                target[key] = setting


def _json_handler(h: Handler) -> dict[str, Any]:
    io = h.io
    out: dict[str, Any] = {"name": h.name}
    if h.kind is not None:
        out["ty"] = _JSON_HANDLER_TYPES[h.kind]
    if h.documentation:
        out["documentation"] = h.documentation
    if h.metadata:
        out["metadata"] = h.metadata
    handler_input: dict[str, Any] = {}
    if io.has_input:
        handler_input = {"required": False, "contentType": io.accept}
        if io.input_schema is not None:
            handler_input["jsonSchema"] = io.input_schema
    out["input"] = handler_input
    handler_output: dict[str, Any] = {"setContentTypeIfEmpty": False}
    if io.has_output:
        handler_output["contentType"] = io.content_type
        if io.output_schema is not None:
            handler_output["jsonSchema"] = io.output_schema
    out["output"] = handler_output
    _json_options(h.options, out)
    return out


def manifest_json(services: Iterable[ServiceBase]) -> dict[str, Any]:
    """The manifest in the shape of Restate's ``/discover`` endpoint (manifest v4)."""
    out_services = []
    for s in services:
        spec: dict[str, Any] = {"name": s.name, "ty": _JSON_SERVICE_TYPES[s.service_tag.kind]}
        if s.service_tag.description:
            spec["documentation"] = s.service_tag.description
        if s.service_tag.metadata:
            spec["metadata"] = s.service_tag.metadata
        _json_options(s.options, spec)
        spec["handlers"] = [_json_handler(h) for h in s.handlers.values()]
        out_services.append(spec)
    return {
        "protocolMode": "BIDI_STREAM",
        "minProtocolVersion": 5,
        "maxProtocolVersion": 7,
        "services": out_services,
    }
