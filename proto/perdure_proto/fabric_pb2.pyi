from perdure_proto import protocol_pb2 as _protocol_pb2
from perdure_proto import records_pb2 as _records_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class InvokeRequest(_message.Message):
    __slots__ = ("invocation_id", "service", "handler", "has_key", "key", "body", "headers", "has_idempotency_key", "idempotency_key", "send", "delay_ms")
    INVOCATION_ID_FIELD_NUMBER: _ClassVar[int]
    SERVICE_FIELD_NUMBER: _ClassVar[int]
    HANDLER_FIELD_NUMBER: _ClassVar[int]
    HAS_KEY_FIELD_NUMBER: _ClassVar[int]
    KEY_FIELD_NUMBER: _ClassVar[int]
    BODY_FIELD_NUMBER: _ClassVar[int]
    HEADERS_FIELD_NUMBER: _ClassVar[int]
    HAS_IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    SEND_FIELD_NUMBER: _ClassVar[int]
    DELAY_MS_FIELD_NUMBER: _ClassVar[int]
    invocation_id: str
    service: str
    handler: str
    has_key: bool
    key: str
    body: bytes
    headers: _containers.RepeatedCompositeFieldContainer[_protocol_pb2.Header]
    has_idempotency_key: bool
    idempotency_key: str
    send: bool
    delay_ms: int
    def __init__(self, invocation_id: _Optional[str] = ..., service: _Optional[str] = ..., handler: _Optional[str] = ..., has_key: _Optional[bool] = ..., key: _Optional[str] = ..., body: _Optional[bytes] = ..., headers: _Optional[_Iterable[_Union[_protocol_pb2.Header, _Mapping]]] = ..., has_idempotency_key: _Optional[bool] = ..., idempotency_key: _Optional[str] = ..., send: _Optional[bool] = ..., delay_ms: _Optional[int] = ...) -> None: ...

class InvocationRequest(_message.Message):
    __slots__ = ("invocation_id",)
    INVOCATION_ID_FIELD_NUMBER: _ClassVar[int]
    invocation_id: str
    def __init__(self, invocation_id: _Optional[str] = ...) -> None: ...

class AwakeableRequest(_message.Message):
    __slots__ = ("awakeable_id", "result")
    AWAKEABLE_ID_FIELD_NUMBER: _ClassVar[int]
    RESULT_FIELD_NUMBER: _ClassVar[int]
    awakeable_id: str
    result: _protocol_pb2.Result
    def __init__(self, awakeable_id: _Optional[str] = ..., result: _Optional[_Union[_protocol_pb2.Result, _Mapping]] = ...) -> None: ...

class CommandRequest(_message.Message):
    __slots__ = ("invocation_id", "command", "deployment")
    INVOCATION_ID_FIELD_NUMBER: _ClassVar[int]
    COMMAND_FIELD_NUMBER: _ClassVar[int]
    DEPLOYMENT_FIELD_NUMBER: _ClassVar[int]
    invocation_id: str
    command: str
    deployment: str
    def __init__(self, invocation_id: _Optional[str] = ..., command: _Optional[str] = ..., deployment: _Optional[str] = ...) -> None: ...

class DeliverRequest(_message.Message):
    __slots__ = ("records",)
    RECORDS_FIELD_NUMBER: _ClassVar[int]
    records: _containers.RepeatedCompositeFieldContainer[_records_pb2.Envelope]
    def __init__(self, records: _Optional[_Iterable[_Union[_records_pb2.Envelope, _Mapping]]] = ...) -> None: ...

class ProposeRequest(_message.Message):
    __slots__ = ("record",)
    RECORD_FIELD_NUMBER: _ClassVar[int]
    record: _records_pb2.Envelope
    def __init__(self, record: _Optional[_Union[_records_pb2.Envelope, _Mapping]] = ...) -> None: ...

class Outcome(_message.Message):
    __slots__ = ("completed", "accepted", "not_ready", "rejected", "command", "done", "status", "snapshot_begun", "snapshot_page")
    COMPLETED_FIELD_NUMBER: _ClassVar[int]
    ACCEPTED_FIELD_NUMBER: _ClassVar[int]
    NOT_READY_FIELD_NUMBER: _ClassVar[int]
    REJECTED_FIELD_NUMBER: _ClassVar[int]
    COMMAND_FIELD_NUMBER: _ClassVar[int]
    DONE_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    SNAPSHOT_BEGUN_FIELD_NUMBER: _ClassVar[int]
    SNAPSHOT_PAGE_FIELD_NUMBER: _ClassVar[int]
    completed: Completed
    accepted: Accepted
    not_ready: str
    rejected: Rejected
    command: CommandResult
    done: bool
    status: GroupStatus
    snapshot_begun: SnapshotBegun
    snapshot_page: SnapshotPage
    def __init__(self, completed: _Optional[_Union[Completed, _Mapping]] = ..., accepted: _Optional[_Union[Accepted, _Mapping]] = ..., not_ready: _Optional[str] = ..., rejected: _Optional[_Union[Rejected, _Mapping]] = ..., command: _Optional[_Union[CommandResult, _Mapping]] = ..., done: _Optional[bool] = ..., status: _Optional[_Union[GroupStatus, _Mapping]] = ..., snapshot_begun: _Optional[_Union[SnapshotBegun, _Mapping]] = ..., snapshot_page: _Optional[_Union[SnapshotPage, _Mapping]] = ...) -> None: ...

class Completed(_message.Message):
    __slots__ = ("invocation_id", "result", "content_type", "idempotency_expires_ms")
    INVOCATION_ID_FIELD_NUMBER: _ClassVar[int]
    RESULT_FIELD_NUMBER: _ClassVar[int]
    CONTENT_TYPE_FIELD_NUMBER: _ClassVar[int]
    IDEMPOTENCY_EXPIRES_MS_FIELD_NUMBER: _ClassVar[int]
    invocation_id: str
    result: _protocol_pb2.Result
    content_type: str
    idempotency_expires_ms: int
    def __init__(self, invocation_id: _Optional[str] = ..., result: _Optional[_Union[_protocol_pb2.Result, _Mapping]] = ..., content_type: _Optional[str] = ..., idempotency_expires_ms: _Optional[int] = ...) -> None: ...

class Accepted(_message.Message):
    __slots__ = ("invocation_id", "previously", "execution_time_ms")
    INVOCATION_ID_FIELD_NUMBER: _ClassVar[int]
    PREVIOUSLY_FIELD_NUMBER: _ClassVar[int]
    EXECUTION_TIME_MS_FIELD_NUMBER: _ClassVar[int]
    invocation_id: str
    previously: bool
    execution_time_ms: int
    def __init__(self, invocation_id: _Optional[str] = ..., previously: _Optional[bool] = ..., execution_time_ms: _Optional[int] = ...) -> None: ...

class Rejected(_message.Message):
    __slots__ = ("code", "message", "invocation_id")
    CODE_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    INVOCATION_ID_FIELD_NUMBER: _ClassVar[int]
    code: int
    message: str
    invocation_id: str
    def __init__(self, code: _Optional[int] = ..., message: _Optional[str] = ..., invocation_id: _Optional[str] = ...) -> None: ...

class CommandResult(_message.Message):
    __slots__ = ("code", "body_json")
    CODE_FIELD_NUMBER: _ClassVar[int]
    BODY_JSON_FIELD_NUMBER: _ClassVar[int]
    code: int
    body_json: str
    def __init__(self, code: _Optional[int] = ..., body_json: _Optional[str] = ...) -> None: ...

class GroupStatus(_message.Message):
    __slots__ = ("group", "pid", "raft_address", "term", "leader_address", "has_applied", "applied", "has_committed", "committed", "leading", "node", "ingress", "admin")
    GROUP_FIELD_NUMBER: _ClassVar[int]
    PID_FIELD_NUMBER: _ClassVar[int]
    RAFT_ADDRESS_FIELD_NUMBER: _ClassVar[int]
    TERM_FIELD_NUMBER: _ClassVar[int]
    LEADER_ADDRESS_FIELD_NUMBER: _ClassVar[int]
    HAS_APPLIED_FIELD_NUMBER: _ClassVar[int]
    APPLIED_FIELD_NUMBER: _ClassVar[int]
    HAS_COMMITTED_FIELD_NUMBER: _ClassVar[int]
    COMMITTED_FIELD_NUMBER: _ClassVar[int]
    LEADING_FIELD_NUMBER: _ClassVar[int]
    NODE_FIELD_NUMBER: _ClassVar[int]
    INGRESS_FIELD_NUMBER: _ClassVar[int]
    ADMIN_FIELD_NUMBER: _ClassVar[int]
    group: int
    pid: int
    raft_address: str
    term: int
    leader_address: str
    has_applied: bool
    applied: int
    has_committed: bool
    committed: int
    leading: bool
    node: str
    ingress: str
    admin: str
    def __init__(self, group: _Optional[int] = ..., pid: _Optional[int] = ..., raft_address: _Optional[str] = ..., term: _Optional[int] = ..., leader_address: _Optional[str] = ..., has_applied: _Optional[bool] = ..., applied: _Optional[int] = ..., has_committed: _Optional[bool] = ..., committed: _Optional[int] = ..., leading: _Optional[bool] = ..., node: _Optional[str] = ..., ingress: _Optional[str] = ..., admin: _Optional[str] = ...) -> None: ...

class SnapshotRequest(_message.Message):
    __slots__ = ("min_lsn",)
    MIN_LSN_FIELD_NUMBER: _ClassVar[int]
    min_lsn: int
    def __init__(self, min_lsn: _Optional[int] = ...) -> None: ...

class SnapshotFile(_message.Message):
    __slots__ = ("name", "size", "sha256")
    NAME_FIELD_NUMBER: _ClassVar[int]
    SIZE_FIELD_NUMBER: _ClassVar[int]
    SHA256_FIELD_NUMBER: _ClassVar[int]
    name: str
    size: int
    sha256: str
    def __init__(self, name: _Optional[str] = ..., size: _Optional[int] = ..., sha256: _Optional[str] = ...) -> None: ...

class SnapshotBegun(_message.Message):
    __slots__ = ("session", "applied_lsn", "through", "term_before", "term_through", "member", "files", "nodes")
    SESSION_FIELD_NUMBER: _ClassVar[int]
    APPLIED_LSN_FIELD_NUMBER: _ClassVar[int]
    THROUGH_FIELD_NUMBER: _ClassVar[int]
    TERM_BEFORE_FIELD_NUMBER: _ClassVar[int]
    TERM_THROUGH_FIELD_NUMBER: _ClassVar[int]
    MEMBER_FIELD_NUMBER: _ClassVar[int]
    FILES_FIELD_NUMBER: _ClassVar[int]
    NODES_FIELD_NUMBER: _ClassVar[int]
    session: int
    applied_lsn: int
    through: int
    term_before: int
    term_through: int
    member: str
    files: _containers.RepeatedCompositeFieldContainer[SnapshotFile]
    nodes: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, session: _Optional[int] = ..., applied_lsn: _Optional[int] = ..., through: _Optional[int] = ..., term_before: _Optional[int] = ..., term_through: _Optional[int] = ..., member: _Optional[str] = ..., files: _Optional[_Iterable[_Union[SnapshotFile, _Mapping]]] = ..., nodes: _Optional[_Iterable[str]] = ...) -> None: ...

class SnapshotPageRequest(_message.Message):
    __slots__ = ("session", "file", "offset")
    SESSION_FIELD_NUMBER: _ClassVar[int]
    FILE_FIELD_NUMBER: _ClassVar[int]
    OFFSET_FIELD_NUMBER: _ClassVar[int]
    session: int
    file: int
    offset: int
    def __init__(self, session: _Optional[int] = ..., file: _Optional[int] = ..., offset: _Optional[int] = ...) -> None: ...

class SnapshotPage(_message.Message):
    __slots__ = ("data",)
    DATA_FIELD_NUMBER: _ClassVar[int]
    data: bytes
    def __init__(self, data: _Optional[bytes] = ...) -> None: ...

class MembershipRequest(_message.Message):
    __slots__ = ("op", "address")
    class Op(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        ADD: _ClassVar[MembershipRequest.Op]
        REMOVE: _ClassVar[MembershipRequest.Op]
        LEAD: _ClassVar[MembershipRequest.Op]
    ADD: MembershipRequest.Op
    REMOVE: MembershipRequest.Op
    LEAD: MembershipRequest.Op
    OP_FIELD_NUMBER: _ClassVar[int]
    ADDRESS_FIELD_NUMBER: _ClassVar[int]
    op: MembershipRequest.Op
    address: str
    def __init__(self, op: _Optional[_Union[MembershipRequest.Op, str]] = ..., address: _Optional[str] = ...) -> None: ...
