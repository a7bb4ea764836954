"""Perdure's wire contracts, generated from the .proto files next to this module.

`protocol_pb2` (+ `_grpc`): the service protocol between a server and an SDK deployment.
`records_pb2`: the partition log's record envelope. `storage_pb2`: the partition store's rows.
`log_pb2`: the log's batch envelope. Both the server and the SDK depend on this package; it
depends on neither. Regenerate with `make proto`.
"""
