"""The replicated log every partition change goes through.

* `log.api`: the contract (`Log`, `Entry`, errors) and its guarantees.
* `log.memory.MemoryLog`: in memory, for pure tests.
* `log.raft.RaftLog` (+ `RaftOptions`): on pysyncobj, group-committed, fsynced (see its docstring).

Importing this package imports neither pysyncobj nor its wire patch; `log.raft` does.
"""
