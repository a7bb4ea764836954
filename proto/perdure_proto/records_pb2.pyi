from perdure_proto import protocol_pb2 as _protocol_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class InvokeMode(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    INVOKE_MODE_UNSPECIFIED: _ClassVar[InvokeMode]
    CALL: _ClassVar[InvokeMode]
    SEND: _ClassVar[InvokeMode]

class Command(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    COMMAND_UNSPECIFIED: _ClassVar[Command]
    CANCEL: _ClassVar[Command]
    KILL: _ClassVar[Command]
    PAUSE: _ClassVar[Command]
    RESUME: _ClassVar[Command]
    PURGE: _ClassVar[Command]
    PURGE_JOURNAL: _ClassVar[Command]
    RESTART_AS_NEW: _ClassVar[Command]
INVOKE_MODE_UNSPECIFIED: InvokeMode
CALL: InvokeMode
SEND: InvokeMode
COMMAND_UNSPECIFIED: Command
CANCEL: Command
KILL: Command
PAUSE: Command
RESUME: Command
PURGE: Command
PURGE_JOURNAL: Command
RESTART_AS_NEW: Command

class Envelope(_message.Message):
    __slots__ = ("timestamp_ms", "leadership", "invoke", "invoker_effect", "attach", "register_deployment", "pause_invocation", "announce_leader", "timer_fired", "resolve_awakeable", "invocation_command", "purge_expired", "deliver", "truncate_outbox", "safe_trim", "prefer_leader", "remove_deployment", "modify_state", "bulk_invocation_command", "modify_service", "pause_notified")
    TIMESTAMP_MS_FIELD_NUMBER: _ClassVar[int]
    LEADERSHIP_FIELD_NUMBER: _ClassVar[int]
    INVOKE_FIELD_NUMBER: _ClassVar[int]
    INVOKER_EFFECT_FIELD_NUMBER: _ClassVar[int]
    ATTACH_FIELD_NUMBER: _ClassVar[int]
    REGISTER_DEPLOYMENT_FIELD_NUMBER: _ClassVar[int]
    PAUSE_INVOCATION_FIELD_NUMBER: _ClassVar[int]
    ANNOUNCE_LEADER_FIELD_NUMBER: _ClassVar[int]
    TIMER_FIRED_FIELD_NUMBER: _ClassVar[int]
    RESOLVE_AWAKEABLE_FIELD_NUMBER: _ClassVar[int]
    INVOCATION_COMMAND_FIELD_NUMBER: _ClassVar[int]
    PURGE_EXPIRED_FIELD_NUMBER: _ClassVar[int]
    DELIVER_FIELD_NUMBER: _ClassVar[int]
    TRUNCATE_OUTBOX_FIELD_NUMBER: _ClassVar[int]
    SAFE_TRIM_FIELD_NUMBER: _ClassVar[int]
    PREFER_LEADER_FIELD_NUMBER: _ClassVar[int]
    REMOVE_DEPLOYMENT_FIELD_NUMBER: _ClassVar[int]
    MODIFY_STATE_FIELD_NUMBER: _ClassVar[int]
    BULK_INVOCATION_COMMAND_FIELD_NUMBER: _ClassVar[int]
    MODIFY_SERVICE_FIELD_NUMBER: _ClassVar[int]
    PAUSE_NOTIFIED_FIELD_NUMBER: _ClassVar[int]
    timestamp_ms: int
    leadership: int
    invoke: Invoke
    invoker_effect: InvokerEffect
    attach: Attach
    register_deployment: RegisterDeployment
    pause_invocation: PauseInvocation
    announce_leader: AnnounceLeader
    timer_fired: TimerFired
    resolve_awakeable: ResolveAwakeable
    invocation_command: InvocationCommand
    purge_expired: PurgeExpired
    deliver: Deliver
    truncate_outbox: TruncateOutbox
    safe_trim: SafeTrim
    prefer_leader: PreferLeader
    remove_deployment: RemoveDeployment
    modify_state: ModifyState
    bulk_invocation_command: BulkInvocationCommand
    modify_service: ModifyService
    pause_notified: PauseNotified
    def __init__(self, timestamp_ms: _Optional[int] = ..., leadership: _Optional[int] = ..., invoke: _Optional[_Union[Invoke, _Mapping]] = ..., invoker_effect: _Optional[_Union[InvokerEffect, _Mapping]] = ..., attach: _Optional[_Union[Attach, _Mapping]] = ..., register_deployment: _Optional[_Union[RegisterDeployment, _Mapping]] = ..., pause_invocation: _Optional[_Union[PauseInvocation, _Mapping]] = ..., announce_leader: _Optional[_Union[AnnounceLeader, _Mapping]] = ..., timer_fired: _Optional[_Union[TimerFired, _Mapping]] = ..., resolve_awakeable: _Optional[_Union[ResolveAwakeable, _Mapping]] = ..., invocation_command: _Optional[_Union[InvocationCommand, _Mapping]] = ..., purge_expired: _Optional[_Union[PurgeExpired, _Mapping]] = ..., deliver: _Optional[_Union[Deliver, _Mapping]] = ..., truncate_outbox: _Optional[_Union[TruncateOutbox, _Mapping]] = ..., safe_trim: _Optional[_Union[SafeTrim, _Mapping]] = ..., prefer_leader: _Optional[_Union[PreferLeader, _Mapping]] = ..., remove_deployment: _Optional[_Union[RemoveDeployment, _Mapping]] = ..., modify_state: _Optional[_Union[ModifyState, _Mapping]] = ..., bulk_invocation_command: _Optional[_Union[BulkInvocationCommand, _Mapping]] = ..., modify_service: _Optional[_Union[ModifyService, _Mapping]] = ..., pause_notified: _Optional[_Union[PauseNotified, _Mapping]] = ...) -> None: ...

class RemoveDeployment(_message.Message):
    __slots__ = ("deployment_id",)
    DEPLOYMENT_ID_FIELD_NUMBER: _ClassVar[int]
    deployment_id: str
    def __init__(self, deployment_id: _Optional[str] = ...) -> None: ...

class ModifyState(_message.Message):
    __slots__ = ("service", "key", "check_version", "version", "new_state")
    SERVICE_FIELD_NUMBER: _ClassVar[int]
    KEY_FIELD_NUMBER: _ClassVar[int]
    CHECK_VERSION_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    NEW_STATE_FIELD_NUMBER: _ClassVar[int]
    service: str
    key: str
    check_version: bool
    version: str
    new_state: _containers.RepeatedCompositeFieldContainer[_protocol_pb2.StateEntry]
    def __init__(self, service: _Optional[str] = ..., key: _Optional[str] = ..., check_version: _Optional[bool] = ..., version: _Optional[str] = ..., new_state: _Optional[_Iterable[_Union[_protocol_pb2.StateEntry, _Mapping]]] = ...) -> None: ...

class ModifyService(_message.Message):
    __slots__ = ("service", "options")
    SERVICE_FIELD_NUMBER: _ClassVar[int]
    OPTIONS_FIELD_NUMBER: _ClassVar[int]
    service: str
    options: _protocol_pb2.Options
    def __init__(self, service: _Optional[str] = ..., options: _Optional[_Union[_protocol_pb2.Options, _Mapping]] = ...) -> None: ...

class PreferLeader(_message.Message):
    __slots__ = ("raft_address",)
    RAFT_ADDRESS_FIELD_NUMBER: _ClassVar[int]
    raft_address: str
    def __init__(self, raft_address: _Optional[str] = ...) -> None: ...

class SafeTrim(_message.Message):
    __slots__ = ("up_to_lsn",)
    UP_TO_LSN_FIELD_NUMBER: _ClassVar[int]
    up_to_lsn: int
    def __init__(self, up_to_lsn: _Optional[int] = ...) -> None: ...

class Reply(_message.Message):
    __slots__ = ("request_id",)
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    request_id: int
    def __init__(self, request_id: _Optional[int] = ...) -> None: ...

class Invoke(_message.Message):
    __slots__ = ("invocation_id", "service", "handler", "key", "input", "headers", "idempotency_key", "mode", "reply", "execution_time_ms", "idempotency_retention_ms")
    INVOCATION_ID_FIELD_NUMBER: _ClassVar[int]
    SERVICE_FIELD_NUMBER: _ClassVar[int]
    HANDLER_FIELD_NUMBER: _ClassVar[int]
    KEY_FIELD_NUMBER: _ClassVar[int]
    INPUT_FIELD_NUMBER: _ClassVar[int]
    HEADERS_FIELD_NUMBER: _ClassVar[int]
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    MODE_FIELD_NUMBER: _ClassVar[int]
    REPLY_FIELD_NUMBER: _ClassVar[int]
    EXECUTION_TIME_MS_FIELD_NUMBER: _ClassVar[int]
    IDEMPOTENCY_RETENTION_MS_FIELD_NUMBER: _ClassVar[int]
    invocation_id: str
    service: str
    handler: str
    key: str
    input: bytes
    headers: _containers.RepeatedCompositeFieldContainer[_protocol_pb2.Header]
    idempotency_key: str
    mode: InvokeMode
    reply: Reply
    execution_time_ms: int
    idempotency_retention_ms: int
    def __init__(self, invocation_id: _Optional[str] = ..., service: _Optional[str] = ..., handler: _Optional[str] = ..., key: _Optional[str] = ..., input: _Optional[bytes] = ..., headers: _Optional[_Iterable[_Union[_protocol_pb2.Header, _Mapping]]] = ..., idempotency_key: _Optional[str] = ..., mode: _Optional[_Union[InvokeMode, str]] = ..., reply: _Optional[_Union[Reply, _Mapping]] = ..., execution_time_ms: _Optional[int] = ..., idempotency_retention_ms: _Optional[int] = ...) -> None: ...

class InvokerEffect(_message.Message):
    __slots__ = ("invocation_id", "attempt", "deployment_id", "commands", "suspension")
    INVOCATION_ID_FIELD_NUMBER: _ClassVar[int]
    ATTEMPT_FIELD_NUMBER: _ClassVar[int]
    DEPLOYMENT_ID_FIELD_NUMBER: _ClassVar[int]
    COMMANDS_FIELD_NUMBER: _ClassVar[int]
    SUSPENSION_FIELD_NUMBER: _ClassVar[int]
    invocation_id: str
    attempt: int
    deployment_id: str
    commands: _containers.RepeatedCompositeFieldContainer[_protocol_pb2.Command]
    suspension: Suspension
    def __init__(self, invocation_id: _Optional[str] = ..., attempt: _Optional[int] = ..., deployment_id: _Optional[str] = ..., commands: _Optional[_Iterable[_Union[_protocol_pb2.Command, _Mapping]]] = ..., suspension: _Optional[_Union[Suspension, _Mapping]] = ...) -> None: ...

class Suspension(_message.Message):
    __slots__ = ("waiting_on",)
    WAITING_ON_FIELD_NUMBER: _ClassVar[int]
    waiting_on: _containers.RepeatedScalarFieldContainer[int]
    def __init__(self, waiting_on: _Optional[_Iterable[int]] = ...) -> None: ...

class Attach(_message.Message):
    __slots__ = ("invocation_id", "reply")
    INVOCATION_ID_FIELD_NUMBER: _ClassVar[int]
    REPLY_FIELD_NUMBER: _ClassVar[int]
    invocation_id: str
    reply: Reply
    def __init__(self, invocation_id: _Optional[str] = ..., reply: _Optional[_Union[Reply, _Mapping]] = ...) -> None: ...

class PauseInvocation(_message.Message):
    __slots__ = ("invocation_id", "last_failure")
    INVOCATION_ID_FIELD_NUMBER: _ClassVar[int]
    LAST_FAILURE_FIELD_NUMBER: _ClassVar[int]
    invocation_id: str
    last_failure: _protocol_pb2.Failure
    def __init__(self, invocation_id: _Optional[str] = ..., last_failure: _Optional[_Union[_protocol_pb2.Failure, _Mapping]] = ...) -> None: ...

class PauseNotified(_message.Message):
    __slots__ = ("invocation_ids", "paused_at_ms")
    INVOCATION_IDS_FIELD_NUMBER: _ClassVar[int]
    PAUSED_AT_MS_FIELD_NUMBER: _ClassVar[int]
    invocation_ids: _containers.RepeatedScalarFieldContainer[str]
    paused_at_ms: _containers.RepeatedScalarFieldContainer[int]
    def __init__(self, invocation_ids: _Optional[_Iterable[str]] = ..., paused_at_ms: _Optional[_Iterable[int]] = ...) -> None: ...

class RegisterDeployment(_message.Message):
    __slots__ = ("deployment_id", "uri", "manifest", "additional_headers", "force")
    DEPLOYMENT_ID_FIELD_NUMBER: _ClassVar[int]
    URI_FIELD_NUMBER: _ClassVar[int]
    MANIFEST_FIELD_NUMBER: _ClassVar[int]
    ADDITIONAL_HEADERS_FIELD_NUMBER: _ClassVar[int]
    FORCE_FIELD_NUMBER: _ClassVar[int]
    deployment_id: str
    uri: str
    manifest: _protocol_pb2.Manifest
    additional_headers: _containers.RepeatedCompositeFieldContainer[_protocol_pb2.Header]
    force: bool
    def __init__(self, deployment_id: _Optional[str] = ..., uri: _Optional[str] = ..., manifest: _Optional[_Union[_protocol_pb2.Manifest, _Mapping]] = ..., additional_headers: _Optional[_Iterable[_Union[_protocol_pb2.Header, _Mapping]]] = ..., force: _Optional[bool] = ...) -> None: ...

class AnnounceLeader(_message.Message):
    __slots__ = ("leader_id", "epoch", "term")
    LEADER_ID_FIELD_NUMBER: _ClassVar[int]
    EPOCH_FIELD_NUMBER: _ClassVar[int]
    TERM_FIELD_NUMBER: _ClassVar[int]
    leader_id: str
    epoch: int
    term: int
    def __init__(self, leader_id: _Optional[str] = ..., epoch: _Optional[int] = ..., term: _Optional[int] = ...) -> None: ...

class TimerFired(_message.Message):
    __slots__ = ("wake_up_time_ms", "invocation_id", "index")
    WAKE_UP_TIME_MS_FIELD_NUMBER: _ClassVar[int]
    INVOCATION_ID_FIELD_NUMBER: _ClassVar[int]
    INDEX_FIELD_NUMBER: _ClassVar[int]
    wake_up_time_ms: int
    invocation_id: str
    index: int
    def __init__(self, wake_up_time_ms: _Optional[int] = ..., invocation_id: _Optional[str] = ..., index: _Optional[int] = ...) -> None: ...

class ResolveAwakeable(_message.Message):
    __slots__ = ("awakeable_id", "result", "reply")
    AWAKEABLE_ID_FIELD_NUMBER: _ClassVar[int]
    RESULT_FIELD_NUMBER: _ClassVar[int]
    REPLY_FIELD_NUMBER: _ClassVar[int]
    awakeable_id: str
    result: _protocol_pb2.Result
    reply: Reply
    def __init__(self, awakeable_id: _Optional[str] = ..., result: _Optional[_Union[_protocol_pb2.Result, _Mapping]] = ..., reply: _Optional[_Union[Reply, _Mapping]] = ...) -> None: ...

class InvocationCommand(_message.Message):
    __slots__ = ("invocation_id", "command", "reply", "deployment", "new_invocation_id")
    INVOCATION_ID_FIELD_NUMBER: _ClassVar[int]
    COMMAND_FIELD_NUMBER: _ClassVar[int]
    REPLY_FIELD_NUMBER: _ClassVar[int]
    DEPLOYMENT_FIELD_NUMBER: _ClassVar[int]
    NEW_INVOCATION_ID_FIELD_NUMBER: _ClassVar[int]
    invocation_id: str
    command: Command
    reply: Reply
    deployment: str
    new_invocation_id: str
    def __init__(self, invocation_id: _Optional[str] = ..., command: _Optional[_Union[Command, str]] = ..., reply: _Optional[_Union[Reply, _Mapping]] = ..., deployment: _Optional[str] = ..., new_invocation_id: _Optional[str] = ...) -> None: ...

class BulkInvocationCommand(_message.Message):
    __slots__ = ("command", "filter", "reply", "limit")
    COMMAND_FIELD_NUMBER: _ClassVar[int]
    FILTER_FIELD_NUMBER: _ClassVar[int]
    REPLY_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    command: Command
    filter: InvocationFilter
    reply: Reply
    limit: int
    def __init__(self, command: _Optional[_Union[Command, str]] = ..., filter: _Optional[_Union[InvocationFilter, _Mapping]] = ..., reply: _Optional[_Union[Reply, _Mapping]] = ..., limit: _Optional[int] = ...) -> None: ...

class InvocationFilter(_message.Message):
    __slots__ = ("service", "handler", "has_key", "key", "statuses", "created_after_ms", "created_before_ms", "deployment_id")
    SERVICE_FIELD_NUMBER: _ClassVar[int]
    HANDLER_FIELD_NUMBER: _ClassVar[int]
    HAS_KEY_FIELD_NUMBER: _ClassVar[int]
    KEY_FIELD_NUMBER: _ClassVar[int]
    STATUSES_FIELD_NUMBER: _ClassVar[int]
    CREATED_AFTER_MS_FIELD_NUMBER: _ClassVar[int]
    CREATED_BEFORE_MS_FIELD_NUMBER: _ClassVar[int]
    DEPLOYMENT_ID_FIELD_NUMBER: _ClassVar[int]
    service: str
    handler: str
    has_key: bool
    key: str
    statuses: _containers.RepeatedScalarFieldContainer[str]
    created_after_ms: int
    created_before_ms: int
    deployment_id: str
    def __init__(self, service: _Optional[str] = ..., handler: _Optional[str] = ..., has_key: _Optional[bool] = ..., key: _Optional[str] = ..., statuses: _Optional[_Iterable[str]] = ..., created_after_ms: _Optional[int] = ..., created_before_ms: _Optional[int] = ..., deployment_id: _Optional[str] = ...) -> None: ...

class PurgeExpired(_message.Message):
    __slots__ = ("invocation_ids", "now_ms")
    INVOCATION_IDS_FIELD_NUMBER: _ClassVar[int]
    NOW_MS_FIELD_NUMBER: _ClassVar[int]
    invocation_ids: _containers.RepeatedScalarFieldContainer[str]
    now_ms: int
    def __init__(self, invocation_ids: _Optional[_Iterable[str]] = ..., now_ms: _Optional[int] = ...) -> None: ...

class PartitionMessage(_message.Message):
    __slots__ = ("start_invocation", "complete_entry", "cancel_invocation", "kill_invocation", "attach")
    START_INVOCATION_FIELD_NUMBER: _ClassVar[int]
    COMPLETE_ENTRY_FIELD_NUMBER: _ClassVar[int]
    CANCEL_INVOCATION_FIELD_NUMBER: _ClassVar[int]
    KILL_INVOCATION_FIELD_NUMBER: _ClassVar[int]
    ATTACH_FIELD_NUMBER: _ClassVar[int]
    start_invocation: StartInvocation
    complete_entry: CompleteEntry
    cancel_invocation: str
    kill_invocation: str
    attach: EntryWaiter
    def __init__(self, start_invocation: _Optional[_Union[StartInvocation, _Mapping]] = ..., complete_entry: _Optional[_Union[CompleteEntry, _Mapping]] = ..., cancel_invocation: _Optional[str] = ..., kill_invocation: _Optional[str] = ..., attach: _Optional[_Union[EntryWaiter, _Mapping]] = ...) -> None: ...

class EntryWaiter(_message.Message):
    __slots__ = ("invocation_id", "waiter_invocation_id", "waiter_index")
    INVOCATION_ID_FIELD_NUMBER: _ClassVar[int]
    WAITER_INVOCATION_ID_FIELD_NUMBER: _ClassVar[int]
    WAITER_INDEX_FIELD_NUMBER: _ClassVar[int]
    invocation_id: str
    waiter_invocation_id: str
    waiter_index: int
    def __init__(self, invocation_id: _Optional[str] = ..., waiter_invocation_id: _Optional[str] = ..., waiter_index: _Optional[int] = ...) -> None: ...

class StartInvocation(_message.Message):
    __slots__ = ("invocation_id", "service", "handler", "key", "argument", "headers", "idempotency_key", "invoke_time_ms", "caller_invocation_id", "caller_entry_index")
    INVOCATION_ID_FIELD_NUMBER: _ClassVar[int]
    SERVICE_FIELD_NUMBER: _ClassVar[int]
    HANDLER_FIELD_NUMBER: _ClassVar[int]
    KEY_FIELD_NUMBER: _ClassVar[int]
    ARGUMENT_FIELD_NUMBER: _ClassVar[int]
    HEADERS_FIELD_NUMBER: _ClassVar[int]
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    INVOKE_TIME_MS_FIELD_NUMBER: _ClassVar[int]
    CALLER_INVOCATION_ID_FIELD_NUMBER: _ClassVar[int]
    CALLER_ENTRY_INDEX_FIELD_NUMBER: _ClassVar[int]
    invocation_id: str
    service: str
    handler: str
    key: str
    argument: bytes
    headers: _containers.RepeatedCompositeFieldContainer[_protocol_pb2.Header]
    idempotency_key: str
    invoke_time_ms: int
    caller_invocation_id: str
    caller_entry_index: int
    def __init__(self, invocation_id: _Optional[str] = ..., service: _Optional[str] = ..., handler: _Optional[str] = ..., key: _Optional[str] = ..., argument: _Optional[bytes] = ..., headers: _Optional[_Iterable[_Union[_protocol_pb2.Header, _Mapping]]] = ..., idempotency_key: _Optional[str] = ..., invoke_time_ms: _Optional[int] = ..., caller_invocation_id: _Optional[str] = ..., caller_entry_index: _Optional[int] = ...) -> None: ...

class CompleteEntry(_message.Message):
    __slots__ = ("invocation_id", "index", "result", "callee_invocation_id")
    INVOCATION_ID_FIELD_NUMBER: _ClassVar[int]
    INDEX_FIELD_NUMBER: _ClassVar[int]
    RESULT_FIELD_NUMBER: _ClassVar[int]
    CALLEE_INVOCATION_ID_FIELD_NUMBER: _ClassVar[int]
    invocation_id: str
    index: int
    result: _protocol_pb2.Result
    callee_invocation_id: str
    def __init__(self, invocation_id: _Optional[str] = ..., index: _Optional[int] = ..., result: _Optional[_Union[_protocol_pb2.Result, _Mapping]] = ..., callee_invocation_id: _Optional[str] = ...) -> None: ...

class Deliver(_message.Message):
    __slots__ = ("producer", "messages")
    PRODUCER_FIELD_NUMBER: _ClassVar[int]
    MESSAGES_FIELD_NUMBER: _ClassVar[int]
    producer: int
    messages: _containers.RepeatedCompositeFieldContainer[SequencedMessage]
    def __init__(self, producer: _Optional[int] = ..., messages: _Optional[_Iterable[_Union[SequencedMessage, _Mapping]]] = ...) -> None: ...

class SequencedMessage(_message.Message):
    __slots__ = ("seq", "message")
    SEQ_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    seq: int
    message: PartitionMessage
    def __init__(self, seq: _Optional[int] = ..., message: _Optional[_Union[PartitionMessage, _Mapping]] = ...) -> None: ...

class TruncateOutbox(_message.Message):
    __slots__ = ("up_to",)
    UP_TO_FIELD_NUMBER: _ClassVar[int]
    up_to: int
    def __init__(self, up_to: _Optional[int] = ...) -> None: ...
