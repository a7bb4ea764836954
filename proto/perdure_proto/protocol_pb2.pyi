from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ServiceType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    SERVICE_TYPE_UNSPECIFIED: _ClassVar[ServiceType]
    SERVICE: _ClassVar[ServiceType]
    VIRTUAL_OBJECT: _ClassVar[ServiceType]
    WORKFLOW: _ClassVar[ServiceType]

class HandlerType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    HANDLER_TYPE_UNSPECIFIED: _ClassVar[HandlerType]
    EXCLUSIVE: _ClassVar[HandlerType]
    SHARED: _ClassVar[HandlerType]
    WORKFLOW_RUN: _ClassVar[HandlerType]

class OnMaxAttempts(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ON_MAX_ATTEMPTS_UNSPECIFIED: _ClassVar[OnMaxAttempts]
    PAUSE: _ClassVar[OnMaxAttempts]
    KILL: _ClassVar[OnMaxAttempts]
SERVICE_TYPE_UNSPECIFIED: ServiceType
SERVICE: ServiceType
VIRTUAL_OBJECT: ServiceType
WORKFLOW: ServiceType
HANDLER_TYPE_UNSPECIFIED: HandlerType
EXCLUSIVE: HandlerType
SHARED: HandlerType
WORKFLOW_RUN: HandlerType
ON_MAX_ATTEMPTS_UNSPECIFIED: OnMaxAttempts
PAUSE: OnMaxAttempts
KILL: OnMaxAttempts

class DiscoverRequest(_message.Message):
    __slots__ = ("min_protocol_version", "max_protocol_version")
    MIN_PROTOCOL_VERSION_FIELD_NUMBER: _ClassVar[int]
    MAX_PROTOCOL_VERSION_FIELD_NUMBER: _ClassVar[int]
    min_protocol_version: int
    max_protocol_version: int
    def __init__(self, min_protocol_version: _Optional[int] = ..., max_protocol_version: _Optional[int] = ...) -> None: ...

class Manifest(_message.Message):
    __slots__ = ("min_protocol_version", "max_protocol_version", "sdk_version", "services")
    MIN_PROTOCOL_VERSION_FIELD_NUMBER: _ClassVar[int]
    MAX_PROTOCOL_VERSION_FIELD_NUMBER: _ClassVar[int]
    SDK_VERSION_FIELD_NUMBER: _ClassVar[int]
    SERVICES_FIELD_NUMBER: _ClassVar[int]
    min_protocol_version: int
    max_protocol_version: int
    sdk_version: str
    services: _containers.RepeatedCompositeFieldContainer[ServiceSpec]
    def __init__(self, min_protocol_version: _Optional[int] = ..., max_protocol_version: _Optional[int] = ..., sdk_version: _Optional[str] = ..., services: _Optional[_Iterable[_Union[ServiceSpec, _Mapping]]] = ...) -> None: ...

class RetryPolicy(_message.Message):
    __slots__ = ("initial_interval_ms", "exponentiation_factor", "max_interval_ms", "max_attempts", "on_max_attempts")
    INITIAL_INTERVAL_MS_FIELD_NUMBER: _ClassVar[int]
    EXPONENTIATION_FACTOR_FIELD_NUMBER: _ClassVar[int]
    MAX_INTERVAL_MS_FIELD_NUMBER: _ClassVar[int]
    MAX_ATTEMPTS_FIELD_NUMBER: _ClassVar[int]
    ON_MAX_ATTEMPTS_FIELD_NUMBER: _ClassVar[int]
    initial_interval_ms: int
    exponentiation_factor: float
    max_interval_ms: int
    max_attempts: int
    on_max_attempts: OnMaxAttempts
    def __init__(self, initial_interval_ms: _Optional[int] = ..., exponentiation_factor: _Optional[float] = ..., max_interval_ms: _Optional[int] = ..., max_attempts: _Optional[int] = ..., on_max_attempts: _Optional[_Union[OnMaxAttempts, str]] = ...) -> None: ...

class Options(_message.Message):
    __slots__ = ("inactivity_timeout_ms", "abort_timeout_ms", "journal_retention_ms", "idempotency_retention_ms", "workflow_retention_ms", "ingress_private", "enable_lazy_state", "retry_policy")
    INACTIVITY_TIMEOUT_MS_FIELD_NUMBER: _ClassVar[int]
    ABORT_TIMEOUT_MS_FIELD_NUMBER: _ClassVar[int]
    JOURNAL_RETENTION_MS_FIELD_NUMBER: _ClassVar[int]
    IDEMPOTENCY_RETENTION_MS_FIELD_NUMBER: _ClassVar[int]
    WORKFLOW_RETENTION_MS_FIELD_NUMBER: _ClassVar[int]
    INGRESS_PRIVATE_FIELD_NUMBER: _ClassVar[int]
    ENABLE_LAZY_STATE_FIELD_NUMBER: _ClassVar[int]
    RETRY_POLICY_FIELD_NUMBER: _ClassVar[int]
    inactivity_timeout_ms: int
    abort_timeout_ms: int
    journal_retention_ms: int
    idempotency_retention_ms: int
    workflow_retention_ms: int
    ingress_private: bool
    enable_lazy_state: bool
    retry_policy: RetryPolicy
    def __init__(self, inactivity_timeout_ms: _Optional[int] = ..., abort_timeout_ms: _Optional[int] = ..., journal_retention_ms: _Optional[int] = ..., idempotency_retention_ms: _Optional[int] = ..., workflow_retention_ms: _Optional[int] = ..., ingress_private: _Optional[bool] = ..., enable_lazy_state: _Optional[bool] = ..., retry_policy: _Optional[_Union[RetryPolicy, _Mapping]] = ...) -> None: ...

class InputSpec(_message.Message):
    __slots__ = ("present", "required", "content_type", "json_schema")
    PRESENT_FIELD_NUMBER: _ClassVar[int]
    REQUIRED_FIELD_NUMBER: _ClassVar[int]
    CONTENT_TYPE_FIELD_NUMBER: _ClassVar[int]
    JSON_SCHEMA_FIELD_NUMBER: _ClassVar[int]
    present: bool
    required: bool
    content_type: str
    json_schema: str
    def __init__(self, present: _Optional[bool] = ..., required: _Optional[bool] = ..., content_type: _Optional[str] = ..., json_schema: _Optional[str] = ...) -> None: ...

class OutputSpec(_message.Message):
    __slots__ = ("present", "content_type", "set_content_type_if_empty", "json_schema")
    PRESENT_FIELD_NUMBER: _ClassVar[int]
    CONTENT_TYPE_FIELD_NUMBER: _ClassVar[int]
    SET_CONTENT_TYPE_IF_EMPTY_FIELD_NUMBER: _ClassVar[int]
    JSON_SCHEMA_FIELD_NUMBER: _ClassVar[int]
    present: bool
    content_type: str
    set_content_type_if_empty: bool
    json_schema: str
    def __init__(self, present: _Optional[bool] = ..., content_type: _Optional[str] = ..., set_content_type_if_empty: _Optional[bool] = ..., json_schema: _Optional[str] = ...) -> None: ...

class HandlerSpec(_message.Message):
    __slots__ = ("name", "ty", "documentation", "metadata", "input", "output", "options")
    class MetadataEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    NAME_FIELD_NUMBER: _ClassVar[int]
    TY_FIELD_NUMBER: _ClassVar[int]
    DOCUMENTATION_FIELD_NUMBER: _ClassVar[int]
    METADATA_FIELD_NUMBER: _ClassVar[int]
    INPUT_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_FIELD_NUMBER: _ClassVar[int]
    OPTIONS_FIELD_NUMBER: _ClassVar[int]
    name: str
    ty: HandlerType
    documentation: str
    metadata: _containers.ScalarMap[str, str]
    input: InputSpec
    output: OutputSpec
    options: Options
    def __init__(self, name: _Optional[str] = ..., ty: _Optional[_Union[HandlerType, str]] = ..., documentation: _Optional[str] = ..., metadata: _Optional[_Mapping[str, str]] = ..., input: _Optional[_Union[InputSpec, _Mapping]] = ..., output: _Optional[_Union[OutputSpec, _Mapping]] = ..., options: _Optional[_Union[Options, _Mapping]] = ...) -> None: ...

class ServiceSpec(_message.Message):
    __slots__ = ("name", "ty", "documentation", "metadata", "options", "handlers")
    class MetadataEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    NAME_FIELD_NUMBER: _ClassVar[int]
    TY_FIELD_NUMBER: _ClassVar[int]
    DOCUMENTATION_FIELD_NUMBER: _ClassVar[int]
    METADATA_FIELD_NUMBER: _ClassVar[int]
    OPTIONS_FIELD_NUMBER: _ClassVar[int]
    HANDLERS_FIELD_NUMBER: _ClassVar[int]
    name: str
    ty: ServiceType
    documentation: str
    metadata: _containers.ScalarMap[str, str]
    options: Options
    handlers: _containers.RepeatedCompositeFieldContainer[HandlerSpec]
    def __init__(self, name: _Optional[str] = ..., ty: _Optional[_Union[ServiceType, str]] = ..., documentation: _Optional[str] = ..., metadata: _Optional[_Mapping[str, str]] = ..., options: _Optional[_Union[Options, _Mapping]] = ..., handlers: _Optional[_Iterable[_Union[HandlerSpec, _Mapping]]] = ...) -> None: ...

class Header(_message.Message):
    __slots__ = ("key", "value")
    KEY_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    key: str
    value: str
    def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...

class Failure(_message.Message):
    __slots__ = ("code", "message", "metadata")
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
    code: int
    message: str
    metadata: _containers.ScalarMap[str, str]
    def __init__(self, code: _Optional[int] = ..., message: _Optional[str] = ..., metadata: _Optional[_Mapping[str, str]] = ...) -> None: ...

class Void(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class Result(_message.Message):
    __slots__ = ("value", "failure", "void")
    VALUE_FIELD_NUMBER: _ClassVar[int]
    FAILURE_FIELD_NUMBER: _ClassVar[int]
    VOID_FIELD_NUMBER: _ClassVar[int]
    value: bytes
    failure: Failure
    void: Void
    def __init__(self, value: _Optional[bytes] = ..., failure: _Optional[_Union[Failure, _Mapping]] = ..., void: _Optional[_Union[Void, _Mapping]] = ...) -> None: ...

class StateEntry(_message.Message):
    __slots__ = ("key", "value")
    KEY_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    key: str
    value: bytes
    def __init__(self, key: _Optional[str] = ..., value: _Optional[bytes] = ...) -> None: ...

class GetState(_message.Message):
    __slots__ = ("key", "value")
    KEY_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    key: str
    value: bytes
    def __init__(self, key: _Optional[str] = ..., value: _Optional[bytes] = ...) -> None: ...

class GetStateKeys(_message.Message):
    __slots__ = ("keys",)
    KEYS_FIELD_NUMBER: _ClassVar[int]
    keys: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, keys: _Optional[_Iterable[str]] = ...) -> None: ...

class SetState(_message.Message):
    __slots__ = ("key", "value")
    KEY_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    key: str
    value: bytes
    def __init__(self, key: _Optional[str] = ..., value: _Optional[bytes] = ...) -> None: ...

class ClearState(_message.Message):
    __slots__ = ("key",)
    KEY_FIELD_NUMBER: _ClassVar[int]
    key: str
    def __init__(self, key: _Optional[str] = ...) -> None: ...

class ClearAllState(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class Run(_message.Message):
    __slots__ = ("result",)
    RESULT_FIELD_NUMBER: _ClassVar[int]
    result: Result
    def __init__(self, result: _Optional[_Union[Result, _Mapping]] = ...) -> None: ...

class Output(_message.Message):
    __slots__ = ("result",)
    RESULT_FIELD_NUMBER: _ClassVar[int]
    result: Result
    def __init__(self, result: _Optional[_Union[Result, _Mapping]] = ...) -> None: ...

class Sleep(_message.Message):
    __slots__ = ("wake_up_time_ms",)
    WAKE_UP_TIME_MS_FIELD_NUMBER: _ClassVar[int]
    wake_up_time_ms: int
    def __init__(self, wake_up_time_ms: _Optional[int] = ...) -> None: ...

class Call(_message.Message):
    __slots__ = ("service", "handler", "key", "argument", "headers", "idempotency_key")
    SERVICE_FIELD_NUMBER: _ClassVar[int]
    HANDLER_FIELD_NUMBER: _ClassVar[int]
    KEY_FIELD_NUMBER: _ClassVar[int]
    ARGUMENT_FIELD_NUMBER: _ClassVar[int]
    HEADERS_FIELD_NUMBER: _ClassVar[int]
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    service: str
    handler: str
    key: str
    argument: bytes
    headers: _containers.RepeatedCompositeFieldContainer[Header]
    idempotency_key: str
    def __init__(self, service: _Optional[str] = ..., handler: _Optional[str] = ..., key: _Optional[str] = ..., argument: _Optional[bytes] = ..., headers: _Optional[_Iterable[_Union[Header, _Mapping]]] = ..., idempotency_key: _Optional[str] = ...) -> None: ...

class Send(_message.Message):
    __slots__ = ("service", "handler", "key", "argument", "headers", "idempotency_key", "invoke_time_ms")
    SERVICE_FIELD_NUMBER: _ClassVar[int]
    HANDLER_FIELD_NUMBER: _ClassVar[int]
    KEY_FIELD_NUMBER: _ClassVar[int]
    ARGUMENT_FIELD_NUMBER: _ClassVar[int]
    HEADERS_FIELD_NUMBER: _ClassVar[int]
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    INVOKE_TIME_MS_FIELD_NUMBER: _ClassVar[int]
    service: str
    handler: str
    key: str
    argument: bytes
    headers: _containers.RepeatedCompositeFieldContainer[Header]
    idempotency_key: str
    invoke_time_ms: int
    def __init__(self, service: _Optional[str] = ..., handler: _Optional[str] = ..., key: _Optional[str] = ..., argument: _Optional[bytes] = ..., headers: _Optional[_Iterable[_Union[Header, _Mapping]]] = ..., idempotency_key: _Optional[str] = ..., invoke_time_ms: _Optional[int] = ...) -> None: ...

class Awakeable(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class CompleteAwakeable(_message.Message):
    __slots__ = ("id", "result")
    ID_FIELD_NUMBER: _ClassVar[int]
    RESULT_FIELD_NUMBER: _ClassVar[int]
    id: str
    result: Result
    def __init__(self, id: _Optional[str] = ..., result: _Optional[_Union[Result, _Mapping]] = ...) -> None: ...

class GetPromise(_message.Message):
    __slots__ = ("key",)
    KEY_FIELD_NUMBER: _ClassVar[int]
    key: str
    def __init__(self, key: _Optional[str] = ...) -> None: ...

class PeekPromise(_message.Message):
    __slots__ = ("key",)
    KEY_FIELD_NUMBER: _ClassVar[int]
    key: str
    def __init__(self, key: _Optional[str] = ...) -> None: ...

class CompletePromise(_message.Message):
    __slots__ = ("key", "result")
    KEY_FIELD_NUMBER: _ClassVar[int]
    RESULT_FIELD_NUMBER: _ClassVar[int]
    key: str
    result: Result
    def __init__(self, key: _Optional[str] = ..., result: _Optional[_Union[Result, _Mapping]] = ...) -> None: ...

class AttachInvocation(_message.Message):
    __slots__ = ("invocation_id",)
    INVOCATION_ID_FIELD_NUMBER: _ClassVar[int]
    invocation_id: str
    def __init__(self, invocation_id: _Optional[str] = ...) -> None: ...

class CancelInvocation(_message.Message):
    __slots__ = ("invocation_id",)
    INVOCATION_ID_FIELD_NUMBER: _ClassVar[int]
    invocation_id: str
    def __init__(self, invocation_id: _Optional[str] = ...) -> None: ...

class Cancelled(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class JournalEntry(_message.Message):
    __slots__ = ("name", "get_state", "get_state_keys", "set_state", "clear_state", "clear_all_state", "run", "output", "sleep", "call", "send", "awakeable", "complete_awakeable", "get_promise", "peek_promise", "complete_promise", "attach_invocation", "cancel_invocation", "cancelled", "completion", "completion_invocation_id")
    NAME_FIELD_NUMBER: _ClassVar[int]
    GET_STATE_FIELD_NUMBER: _ClassVar[int]
    GET_STATE_KEYS_FIELD_NUMBER: _ClassVar[int]
    SET_STATE_FIELD_NUMBER: _ClassVar[int]
    CLEAR_STATE_FIELD_NUMBER: _ClassVar[int]
    CLEAR_ALL_STATE_FIELD_NUMBER: _ClassVar[int]
    RUN_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_FIELD_NUMBER: _ClassVar[int]
    SLEEP_FIELD_NUMBER: _ClassVar[int]
    CALL_FIELD_NUMBER: _ClassVar[int]
    SEND_FIELD_NUMBER: _ClassVar[int]
    AWAKEABLE_FIELD_NUMBER: _ClassVar[int]
    COMPLETE_AWAKEABLE_FIELD_NUMBER: _ClassVar[int]
    GET_PROMISE_FIELD_NUMBER: _ClassVar[int]
    PEEK_PROMISE_FIELD_NUMBER: _ClassVar[int]
    COMPLETE_PROMISE_FIELD_NUMBER: _ClassVar[int]
    ATTACH_INVOCATION_FIELD_NUMBER: _ClassVar[int]
    CANCEL_INVOCATION_FIELD_NUMBER: _ClassVar[int]
    CANCELLED_FIELD_NUMBER: _ClassVar[int]
    COMPLETION_FIELD_NUMBER: _ClassVar[int]
    COMPLETION_INVOCATION_ID_FIELD_NUMBER: _ClassVar[int]
    name: str
    get_state: GetState
    get_state_keys: GetStateKeys
    set_state: SetState
    clear_state: ClearState
    clear_all_state: ClearAllState
    run: Run
    output: Output
    sleep: Sleep
    call: Call
    send: Send
    awakeable: Awakeable
    complete_awakeable: CompleteAwakeable
    get_promise: GetPromise
    peek_promise: PeekPromise
    complete_promise: CompletePromise
    attach_invocation: AttachInvocation
    cancel_invocation: CancelInvocation
    cancelled: Cancelled
    completion: Result
    completion_invocation_id: str
    def __init__(self, name: _Optional[str] = ..., get_state: _Optional[_Union[GetState, _Mapping]] = ..., get_state_keys: _Optional[_Union[GetStateKeys, _Mapping]] = ..., set_state: _Optional[_Union[SetState, _Mapping]] = ..., clear_state: _Optional[_Union[ClearState, _Mapping]] = ..., clear_all_state: _Optional[_Union[ClearAllState, _Mapping]] = ..., run: _Optional[_Union[Run, _Mapping]] = ..., output: _Optional[_Union[Output, _Mapping]] = ..., sleep: _Optional[_Union[Sleep, _Mapping]] = ..., call: _Optional[_Union[Call, _Mapping]] = ..., send: _Optional[_Union[Send, _Mapping]] = ..., awakeable: _Optional[_Union[Awakeable, _Mapping]] = ..., complete_awakeable: _Optional[_Union[CompleteAwakeable, _Mapping]] = ..., get_promise: _Optional[_Union[GetPromise, _Mapping]] = ..., peek_promise: _Optional[_Union[PeekPromise, _Mapping]] = ..., complete_promise: _Optional[_Union[CompletePromise, _Mapping]] = ..., attach_invocation: _Optional[_Union[AttachInvocation, _Mapping]] = ..., cancel_invocation: _Optional[_Union[CancelInvocation, _Mapping]] = ..., cancelled: _Optional[_Union[Cancelled, _Mapping]] = ..., completion: _Optional[_Union[Result, _Mapping]] = ..., completion_invocation_id: _Optional[str] = ...) -> None: ...

class Start(_message.Message):
    __slots__ = ("service", "handler", "key", "input", "headers", "idempotency_key", "journal", "state", "partial_state", "random_seed", "retry_count", "cancelled")
    SERVICE_FIELD_NUMBER: _ClassVar[int]
    HANDLER_FIELD_NUMBER: _ClassVar[int]
    KEY_FIELD_NUMBER: _ClassVar[int]
    INPUT_FIELD_NUMBER: _ClassVar[int]
    HEADERS_FIELD_NUMBER: _ClassVar[int]
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    JOURNAL_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    PARTIAL_STATE_FIELD_NUMBER: _ClassVar[int]
    RANDOM_SEED_FIELD_NUMBER: _ClassVar[int]
    RETRY_COUNT_FIELD_NUMBER: _ClassVar[int]
    CANCELLED_FIELD_NUMBER: _ClassVar[int]
    service: str
    handler: str
    key: str
    input: bytes
    headers: _containers.RepeatedCompositeFieldContainer[Header]
    idempotency_key: str
    journal: _containers.RepeatedCompositeFieldContainer[JournalEntry]
    state: _containers.RepeatedCompositeFieldContainer[StateEntry]
    partial_state: bool
    random_seed: int
    retry_count: int
    cancelled: bool
    def __init__(self, service: _Optional[str] = ..., handler: _Optional[str] = ..., key: _Optional[str] = ..., input: _Optional[bytes] = ..., headers: _Optional[_Iterable[_Union[Header, _Mapping]]] = ..., idempotency_key: _Optional[str] = ..., journal: _Optional[_Iterable[_Union[JournalEntry, _Mapping]]] = ..., state: _Optional[_Iterable[_Union[StateEntry, _Mapping]]] = ..., partial_state: _Optional[bool] = ..., random_seed: _Optional[int] = ..., retry_count: _Optional[int] = ..., cancelled: _Optional[bool] = ...) -> None: ...

class Ack(_message.Message):
    __slots__ = ("up_to_index",)
    UP_TO_INDEX_FIELD_NUMBER: _ClassVar[int]
    up_to_index: int
    def __init__(self, up_to_index: _Optional[int] = ...) -> None: ...

class Completion(_message.Message):
    __slots__ = ("index", "result", "invocation_id")
    INDEX_FIELD_NUMBER: _ClassVar[int]
    RESULT_FIELD_NUMBER: _ClassVar[int]
    INVOCATION_ID_FIELD_NUMBER: _ClassVar[int]
    index: int
    result: Result
    invocation_id: str
    def __init__(self, index: _Optional[int] = ..., result: _Optional[_Union[Result, _Mapping]] = ..., invocation_id: _Optional[str] = ...) -> None: ...

class Abort(_message.Message):
    __slots__ = ("reason",)
    REASON_FIELD_NUMBER: _ClassVar[int]
    reason: str
    def __init__(self, reason: _Optional[str] = ...) -> None: ...

class Cancel(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ServerMessage(_message.Message):
    __slots__ = ("invocation_id", "attempt", "start", "ack", "completion", "abort", "cancel")
    INVOCATION_ID_FIELD_NUMBER: _ClassVar[int]
    ATTEMPT_FIELD_NUMBER: _ClassVar[int]
    START_FIELD_NUMBER: _ClassVar[int]
    ACK_FIELD_NUMBER: _ClassVar[int]
    COMPLETION_FIELD_NUMBER: _ClassVar[int]
    ABORT_FIELD_NUMBER: _ClassVar[int]
    CANCEL_FIELD_NUMBER: _ClassVar[int]
    invocation_id: str
    attempt: int
    start: Start
    ack: Ack
    completion: Completion
    abort: Abort
    cancel: Cancel
    def __init__(self, invocation_id: _Optional[str] = ..., attempt: _Optional[int] = ..., start: _Optional[_Union[Start, _Mapping]] = ..., ack: _Optional[_Union[Ack, _Mapping]] = ..., completion: _Optional[_Union[Completion, _Mapping]] = ..., abort: _Optional[_Union[Abort, _Mapping]] = ..., cancel: _Optional[_Union[Cancel, _Mapping]] = ...) -> None: ...

class ServerBatch(_message.Message):
    __slots__ = ("messages",)
    MESSAGES_FIELD_NUMBER: _ClassVar[int]
    messages: _containers.RepeatedCompositeFieldContainer[ServerMessage]
    def __init__(self, messages: _Optional[_Iterable[_Union[ServerMessage, _Mapping]]] = ...) -> None: ...

class Command(_message.Message):
    __slots__ = ("index", "entry")
    INDEX_FIELD_NUMBER: _ClassVar[int]
    ENTRY_FIELD_NUMBER: _ClassVar[int]
    index: int
    entry: JournalEntry
    def __init__(self, index: _Optional[int] = ..., entry: _Optional[_Union[JournalEntry, _Mapping]] = ...) -> None: ...

class Suspend(_message.Message):
    __slots__ = ("waiting_on",)
    WAITING_ON_FIELD_NUMBER: _ClassVar[int]
    waiting_on: _containers.RepeatedScalarFieldContainer[int]
    def __init__(self, waiting_on: _Optional[_Iterable[int]] = ...) -> None: ...

class AttemptError(_message.Message):
    __slots__ = ("code", "message", "stacktrace", "retry_after_ms", "related_index", "related_name")
    CODE_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    STACKTRACE_FIELD_NUMBER: _ClassVar[int]
    RETRY_AFTER_MS_FIELD_NUMBER: _ClassVar[int]
    RELATED_INDEX_FIELD_NUMBER: _ClassVar[int]
    RELATED_NAME_FIELD_NUMBER: _ClassVar[int]
    code: int
    message: str
    stacktrace: str
    retry_after_ms: int
    related_index: int
    related_name: str
    def __init__(self, code: _Optional[int] = ..., message: _Optional[str] = ..., stacktrace: _Optional[str] = ..., retry_after_ms: _Optional[int] = ..., related_index: _Optional[int] = ..., related_name: _Optional[str] = ...) -> None: ...

class End(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class DeploymentMessage(_message.Message):
    __slots__ = ("invocation_id", "attempt", "command", "suspend", "error", "end")
    INVOCATION_ID_FIELD_NUMBER: _ClassVar[int]
    ATTEMPT_FIELD_NUMBER: _ClassVar[int]
    COMMAND_FIELD_NUMBER: _ClassVar[int]
    SUSPEND_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    END_FIELD_NUMBER: _ClassVar[int]
    invocation_id: str
    attempt: int
    command: Command
    suspend: Suspend
    error: AttemptError
    end: End
    def __init__(self, invocation_id: _Optional[str] = ..., attempt: _Optional[int] = ..., command: _Optional[_Union[Command, _Mapping]] = ..., suspend: _Optional[_Union[Suspend, _Mapping]] = ..., error: _Optional[_Union[AttemptError, _Mapping]] = ..., end: _Optional[_Union[End, _Mapping]] = ...) -> None: ...

class DeploymentBatch(_message.Message):
    __slots__ = ("messages",)
    MESSAGES_FIELD_NUMBER: _ClassVar[int]
    messages: _containers.RepeatedCompositeFieldContainer[DeploymentMessage]
    def __init__(self, messages: _Optional[_Iterable[_Union[DeploymentMessage, _Mapping]]] = ...) -> None: ...
