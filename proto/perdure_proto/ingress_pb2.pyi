from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class SendStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    SEND_STATUS_UNSPECIFIED: _ClassVar[SendStatus]
    SEND_STATUS_ACCEPTED: _ClassVar[SendStatus]
    SEND_STATUS_PREVIOUSLY_ACCEPTED: _ClassVar[SendStatus]
SEND_STATUS_UNSPECIFIED: SendStatus
SEND_STATUS_ACCEPTED: SendStatus
SEND_STATUS_PREVIOUSLY_ACCEPTED: SendStatus

class CallRequest(_message.Message):
    __slots__ = ("service", "handler", "key", "body", "json", "content_type")
    SERVICE_FIELD_NUMBER: _ClassVar[int]
    HANDLER_FIELD_NUMBER: _ClassVar[int]
    KEY_FIELD_NUMBER: _ClassVar[int]
    BODY_FIELD_NUMBER: _ClassVar[int]
    JSON_FIELD_NUMBER: _ClassVar[int]
    CONTENT_TYPE_FIELD_NUMBER: _ClassVar[int]
    service: str
    handler: str
    key: str
    body: bytes
    json: str
    content_type: str
    def __init__(self, service: _Optional[str] = ..., handler: _Optional[str] = ..., key: _Optional[str] = ..., body: _Optional[bytes] = ..., json: _Optional[str] = ..., content_type: _Optional[str] = ...) -> None: ...

class SendRequest(_message.Message):
    __slots__ = ("service", "handler", "key", "body", "json", "content_type", "delay")
    SERVICE_FIELD_NUMBER: _ClassVar[int]
    HANDLER_FIELD_NUMBER: _ClassVar[int]
    KEY_FIELD_NUMBER: _ClassVar[int]
    BODY_FIELD_NUMBER: _ClassVar[int]
    JSON_FIELD_NUMBER: _ClassVar[int]
    CONTENT_TYPE_FIELD_NUMBER: _ClassVar[int]
    DELAY_FIELD_NUMBER: _ClassVar[int]
    service: str
    handler: str
    key: str
    body: bytes
    json: str
    content_type: str
    delay: str
    def __init__(self, service: _Optional[str] = ..., handler: _Optional[str] = ..., key: _Optional[str] = ..., body: _Optional[bytes] = ..., json: _Optional[str] = ..., content_type: _Optional[str] = ..., delay: _Optional[str] = ...) -> None: ...

class SendResponse(_message.Message):
    __slots__ = ("invocation_id", "status", "execution_time_ms")
    INVOCATION_ID_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    EXECUTION_TIME_MS_FIELD_NUMBER: _ClassVar[int]
    invocation_id: str
    status: SendStatus
    execution_time_ms: int
    def __init__(self, invocation_id: _Optional[str] = ..., status: _Optional[_Union[SendStatus, str]] = ..., execution_time_ms: _Optional[int] = ...) -> None: ...

class InvocationOutput(_message.Message):
    __slots__ = ("invocation_id", "body", "json", "content_type")
    INVOCATION_ID_FIELD_NUMBER: _ClassVar[int]
    BODY_FIELD_NUMBER: _ClassVar[int]
    JSON_FIELD_NUMBER: _ClassVar[int]
    CONTENT_TYPE_FIELD_NUMBER: _ClassVar[int]
    invocation_id: str
    body: bytes
    json: str
    content_type: str
    def __init__(self, invocation_id: _Optional[str] = ..., body: _Optional[bytes] = ..., json: _Optional[str] = ..., content_type: _Optional[str] = ...) -> None: ...

class InvocationTarget(_message.Message):
    __slots__ = ("invocation_id", "idempotent", "workflow")
    INVOCATION_ID_FIELD_NUMBER: _ClassVar[int]
    IDEMPOTENT_FIELD_NUMBER: _ClassVar[int]
    WORKFLOW_FIELD_NUMBER: _ClassVar[int]
    invocation_id: str
    idempotent: IdempotentInvocation
    workflow: WorkflowInvocation
    def __init__(self, invocation_id: _Optional[str] = ..., idempotent: _Optional[_Union[IdempotentInvocation, _Mapping]] = ..., workflow: _Optional[_Union[WorkflowInvocation, _Mapping]] = ...) -> None: ...

class IdempotentInvocation(_message.Message):
    __slots__ = ("service", "key", "handler", "idempotency_key")
    SERVICE_FIELD_NUMBER: _ClassVar[int]
    KEY_FIELD_NUMBER: _ClassVar[int]
    HANDLER_FIELD_NUMBER: _ClassVar[int]
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    service: str
    key: str
    handler: str
    idempotency_key: str
    def __init__(self, service: _Optional[str] = ..., key: _Optional[str] = ..., handler: _Optional[str] = ..., idempotency_key: _Optional[str] = ...) -> None: ...

class WorkflowInvocation(_message.Message):
    __slots__ = ("name", "key")
    NAME_FIELD_NUMBER: _ClassVar[int]
    KEY_FIELD_NUMBER: _ClassVar[int]
    name: str
    key: str
    def __init__(self, name: _Optional[str] = ..., key: _Optional[str] = ...) -> None: ...

class ResolveAwakeableRequest(_message.Message):
    __slots__ = ("awakeable_id", "body", "json")
    AWAKEABLE_ID_FIELD_NUMBER: _ClassVar[int]
    BODY_FIELD_NUMBER: _ClassVar[int]
    JSON_FIELD_NUMBER: _ClassVar[int]
    awakeable_id: str
    body: bytes
    json: str
    def __init__(self, awakeable_id: _Optional[str] = ..., body: _Optional[bytes] = ..., json: _Optional[str] = ...) -> None: ...

class RejectAwakeableRequest(_message.Message):
    __slots__ = ("awakeable_id", "message")
    AWAKEABLE_ID_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    awakeable_id: str
    message: str
    def __init__(self, awakeable_id: _Optional[str] = ..., message: _Optional[str] = ...) -> None: ...

class AwakeableResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class Failure(_message.Message):
    __slots__ = ("code", "message", "metadata", "source", "invocation_id")
    class MetadataEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    CODE_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    METADATA_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    INVOCATION_ID_FIELD_NUMBER: _ClassVar[int]
    code: int
    message: str
    metadata: _containers.ScalarMap[str, str]
    source: str
    invocation_id: str
    def __init__(self, code: _Optional[int] = ..., message: _Optional[str] = ..., metadata: _Optional[_Mapping[str, str]] = ..., source: _Optional[str] = ..., invocation_id: _Optional[str] = ...) -> None: ...
