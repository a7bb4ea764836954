"""`GET /services/{name}/openapi`: an OpenAPI 3.1 document of one service's ingress paths, as
Restate's admin API serves it (a path per handler, and its `/send` form; request and response
schemas from the handler's JSON schemas when the SDK gave them)."""

from __future__ import annotations

from typing import Any

import orjson

from perdure_proto import protocol_pb2 as pb

Json = dict[str, Any]


def _schema(text: str) -> Json:
    if not text:
        return {}
    try:
        parsed = orjson.loads(text)
    except orjson.JSONDecodeError:
        return {}
    return parsed if isinstance(parsed, dict) else {}


def document(spec: pb.ServiceSpec, public: bool) -> Json:
    keyed = spec.ty in (pb.VIRTUAL_OBJECT, pb.WORKFLOW)
    base = f"/{spec.name}/{{key}}" if keyed else f"/{spec.name}"
    key_param = [{"name": "key", "in": "path", "required": True, "schema": {"type": "string"}}]
    paths: Json = {}
    for handler in spec.handlers:
        parameters = key_param if keyed else []
        body: Json | None = None
        if handler.input.present:
            content_type = handler.input.content_type or "application/json"
            body = {
                "required": handler.input.required,
                "content": {content_type: {"schema": _schema(handler.input.json_schema)}},
            }
        output: Json = {"description": "The handler's result"}
        if handler.output.present:
            content_type = handler.output.content_type or "application/json"
            output["content"] = {content_type: {"schema": _schema(handler.output.json_schema)}}
        call: Json = {
            "operationId": handler.name,
            "summary": handler.documentation or f"Call {spec.name}/{handler.name}",
            "parameters": parameters,
            "responses": {"200": output, "default": {"$ref": "#/components/responses/Error"}},
        }
        send: Json = {
            "operationId": f"{handler.name}_send",
            "summary": f"Send {spec.name}/{handler.name} (answers once it is accepted)",
            "parameters": [
                *parameters,
                {"name": "delay", "in": "query", "required": False, "schema": {"type": "string"}},
            ],
            "responses": {
                "202": {"$ref": "#/components/responses/Accepted"},
                "default": {"$ref": "#/components/responses/Error"},
            },
        }
        if body is not None:
            call["requestBody"] = body
            send["requestBody"] = body
        paths[f"{base}/{handler.name}"] = {"post": call}
        paths[f"{base}/{handler.name}/send"] = {"post": send}
    error = {
        "type": "object",
        "properties": {"message": {"type": "string"}, "code": {"type": "integer"}},
        "required": ["message"],
    }
    accepted = {
        "type": "object",
        "properties": {"invocationId": {"type": "string"}, "status": {"type": "string"}},
        "required": ["invocationId", "status"],
    }
    return {
        "openapi": "3.1.0",
        "info": {"title": spec.name, "version": "1", "description": spec.documentation},
        "x-restate-public": public,
        "paths": paths,
        "components": {
            "responses": {
                "Error": {
                    "description": "An error of the ingress or of the invocation",
                    "content": {"application/json": {"schema": error}},
                },
                "Accepted": {
                    "description": "The invocation was accepted",
                    "content": {"application/json": {"schema": accepted}},
                },
            }
        },
    }
