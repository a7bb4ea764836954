from perdure_proto import protocol_pb2 as _protocol_pb2
from perdure_proto import records_pb2 as _records_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Phase(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    PHASE_UNSPECIFIED: _ClassVar[Phase]
    INBOXED: _ClassVar[Phase]
    SCHEDULED: _ClassVar[Phase]
    INVOKED: _ClassVar[Phase]
    SUSPENDED: _ClassVar[Phase]
    PAUSED: _ClassVar[Phase]
    COMPLETED: _ClassVar[Phase]

class TimerKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    TIMER_KIND_UNSPECIFIED: _ClassVar[TimerKind]
    COMPLETE_ENTRY: _ClassVar[TimerKind]
    START_SCHEDULED: _ClassVar[TimerKind]
PHASE_UNSPECIFIED: Phase
INBOXED: Phase
SCHEDULED: Phase
INVOKED: Phase
SUSPENDED: Phase
PAUSED: Phase
COMPLETED: Phase
TIMER_KIND_UNSPECIFIED: TimerKind
COMPLETE_ENTRY: TimerKind
START_SCHEDULED: TimerKind

class InvocationStatus(_message.Message):
    __slots__ = ("phase", "service", "handler", "key", "service_type", "handler_type", "input", "headers", "idempotency_key", "journal_length", "deployment_id", "waiting_requests", "result", "output_content_type", "created_at_ms", "modified_at_ms", "completed_at_ms", "expires_at_ms", "last_failure", "execution_time_ms", "caller_invocation_id", "caller_entry_index", "cancel_requested", "waiting_on", "attached_entries", "fence_leadership", "fence_attempt", "restarted_from")
    PHASE_FIELD_NUMBER: _ClassVar[int]
    SERVICE_FIELD_NUMBER: _ClassVar[int]
    HANDLER_FIELD_NUMBER: _ClassVar[int]
    KEY_FIELD_NUMBER: _ClassVar[int]
    SERVICE_TYPE_FIELD_NUMBER: _ClassVar[int]
    HANDLER_TYPE_FIELD_NUMBER: _ClassVar[int]
    INPUT_FIELD_NUMBER: _ClassVar[int]
    HEADERS_FIELD_NUMBER: _ClassVar[int]
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    JOURNAL_LENGTH_FIELD_NUMBER: _ClassVar[int]
    DEPLOYMENT_ID_FIELD_NUMBER: _ClassVar[int]
    WAITING_REQUESTS_FIELD_NUMBER: _ClassVar[int]
    RESULT_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_CONTENT_TYPE_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_MS_FIELD_NUMBER: _ClassVar[int]
    MODIFIED_AT_MS_FIELD_NUMBER: _ClassVar[int]
    COMPLETED_AT_MS_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_AT_MS_FIELD_NUMBER: _ClassVar[int]
    LAST_FAILURE_FIELD_NUMBER: _ClassVar[int]
    EXECUTION_TIME_MS_FIELD_NUMBER: _ClassVar[int]
    CALLER_INVOCATION_ID_FIELD_NUMBER: _ClassVar[int]
    CALLER_ENTRY_INDEX_FIELD_NUMBER: _ClassVar[int]
    CANCEL_REQUESTED_FIELD_NUMBER: _ClassVar[int]
    WAITING_ON_FIELD_NUMBER: _ClassVar[int]
    ATTACHED_ENTRIES_FIELD_NUMBER: _ClassVar[int]
    FENCE_LEADERSHIP_FIELD_NUMBER: _ClassVar[int]
    FENCE_ATTEMPT_FIELD_NUMBER: _ClassVar[int]
    RESTARTED_FROM_FIELD_NUMBER: _ClassVar[int]
    phase: Phase
    service: str
    handler: str
    key: str
    service_type: _protocol_pb2.ServiceType
    handler_type: _protocol_pb2.HandlerType
    input: bytes
    headers: _containers.RepeatedCompositeFieldContainer[_protocol_pb2.Header]
    idempotency_key: str
    journal_length: int
    deployment_id: str
    waiting_requests: _containers.RepeatedScalarFieldContainer[int]
    result: _protocol_pb2.Result
    output_content_type: str
    created_at_ms: int
    modified_at_ms: int
    completed_at_ms: int
    expires_at_ms: int
    last_failure: _protocol_pb2.Failure
    execution_time_ms: int
    caller_invocation_id: str
    caller_entry_index: int
    cancel_requested: bool
    waiting_on: _containers.RepeatedScalarFieldContainer[int]
    attached_entries: _containers.RepeatedCompositeFieldContainer[EntryRef]
    fence_leadership: int
    fence_attempt: int
    restarted_from: str
    def __init__(self, phase: _Optional[_Union[Phase, str]] = ..., service: _Optional[str] = ..., handler: _Optional[str] = ..., key: _Optional[str] = ..., service_type: _Optional[_Union[_protocol_pb2.ServiceType, str]] = ..., handler_type: _Optional[_Union[_protocol_pb2.HandlerType, str]] = ..., input: _Optional[bytes] = ..., headers: _Optional[_Iterable[_Union[_protocol_pb2.Header, _Mapping]]] = ..., idempotency_key: _Optional[str] = ..., journal_length: _Optional[int] = ..., deployment_id: _Optional[str] = ..., waiting_requests: _Optional[_Iterable[int]] = ..., result: _Optional[_Union[_protocol_pb2.Result, _Mapping]] = ..., output_content_type: _Optional[str] = ..., created_at_ms: _Optional[int] = ..., modified_at_ms: _Optional[int] = ..., completed_at_ms: _Optional[int] = ..., expires_at_ms: _Optional[int] = ..., last_failure: _Optional[_Union[_protocol_pb2.Failure, _Mapping]] = ..., execution_time_ms: _Optional[int] = ..., caller_invocation_id: _Optional[str] = ..., caller_entry_index: _Optional[int] = ..., cancel_requested: _Optional[bool] = ..., waiting_on: _Optional[_Iterable[int]] = ..., attached_entries: _Optional[_Iterable[_Union[EntryRef, _Mapping]]] = ..., fence_leadership: _Optional[int] = ..., fence_attempt: _Optional[int] = ..., restarted_from: _Optional[str] = ...) -> None: ...

class EntryRef(_message.Message):
    __slots__ = ("invocation_id", "index")
    INVOCATION_ID_FIELD_NUMBER: _ClassVar[int]
    INDEX_FIELD_NUMBER: _ClassVar[int]
    invocation_id: str
    index: int
    def __init__(self, invocation_id: _Optional[str] = ..., index: _Optional[int] = ...) -> None: ...

class TimerRow(_message.Message):
    __slots__ = ("kind",)
    KIND_FIELD_NUMBER: _ClassVar[int]
    kind: TimerKind
    def __init__(self, kind: _Optional[_Union[TimerKind, str]] = ...) -> None: ...

class PromiseRow(_message.Message):
    __slots__ = ("completed", "result", "waiters")
    COMPLETED_FIELD_NUMBER: _ClassVar[int]
    RESULT_FIELD_NUMBER: _ClassVar[int]
    WAITERS_FIELD_NUMBER: _ClassVar[int]
    completed: bool
    result: _protocol_pb2.Result
    waiters: _containers.RepeatedCompositeFieldContainer[EntryRef]
    def __init__(self, completed: _Optional[bool] = ..., result: _Optional[_Union[_protocol_pb2.Result, _Mapping]] = ..., waiters: _Optional[_Iterable[_Union[EntryRef, _Mapping]]] = ...) -> None: ...

class KeyLock(_message.Message):
    __slots__ = ("invocation_id", "inbox_head", "inbox_tail")
    INVOCATION_ID_FIELD_NUMBER: _ClassVar[int]
    INBOX_HEAD_FIELD_NUMBER: _ClassVar[int]
    INBOX_TAIL_FIELD_NUMBER: _ClassVar[int]
    invocation_id: str
    inbox_head: int
    inbox_tail: int
    def __init__(self, invocation_id: _Optional[str] = ..., inbox_head: _Optional[int] = ..., inbox_tail: _Optional[int] = ...) -> None: ...

class DeploymentRow(_message.Message):
    __slots__ = ("id", "uri", "manifest", "additional_headers", "created_at_ms")
    ID_FIELD_NUMBER: _ClassVar[int]
    URI_FIELD_NUMBER: _ClassVar[int]
    MANIFEST_FIELD_NUMBER: _ClassVar[int]
    ADDITIONAL_HEADERS_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_MS_FIELD_NUMBER: _ClassVar[int]
    id: str
    uri: str
    manifest: _protocol_pb2.Manifest
    additional_headers: _containers.RepeatedCompositeFieldContainer[_protocol_pb2.Header]
    created_at_ms: int
    def __init__(self, id: _Optional[str] = ..., uri: _Optional[str] = ..., manifest: _Optional[_Union[_protocol_pb2.Manifest, _Mapping]] = ..., additional_headers: _Optional[_Iterable[_Union[_protocol_pb2.Header, _Mapping]]] = ..., created_at_ms: _Optional[int] = ...) -> None: ...

class ServiceRow(_message.Message):
    __slots__ = ("spec", "revision", "deployment_id")
    SPEC_FIELD_NUMBER: _ClassVar[int]
    REVISION_FIELD_NUMBER: _ClassVar[int]
    DEPLOYMENT_ID_FIELD_NUMBER: _ClassVar[int]
    spec: _protocol_pb2.ServiceSpec
    revision: int
    deployment_id: str
    def __init__(self, spec: _Optional[_Union[_protocol_pb2.ServiceSpec, _Mapping]] = ..., revision: _Optional[int] = ..., deployment_id: _Optional[str] = ...) -> None: ...

class OutboxRow(_message.Message):
    __slots__ = ("target", "message")
    TARGET_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    target: int
    message: _records_pb2.PartitionMessage
    def __init__(self, target: _Optional[int] = ..., message: _Optional[_Union[_records_pb2.PartitionMessage, _Mapping]] = ...) -> None: ...
