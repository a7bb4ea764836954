"""The registry of deployments and services, as applied from the log (a cache of two tables).

The cache changes only when a write batch that changed the tables commits: a registration
stages a copy (`staged`), later records of the same batch read the copy, and the state machine
adopts it (`adopt`, in place, so every holder of the schema sees it) after the commit.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from partition import tables
from perdure_proto import protocol_pb2 as pb
from perdure_proto import storage_pb2 as st


@dataclass(slots=True)
class Schema:
    deployments: dict[str, st.DeploymentRow] = field(default_factory=dict)
    services: dict[str, st.ServiceRow] = field(default_factory=dict)
    # (service, handler) -> what `handler` found, valid while `services` holds the same row
    # object (registration replaces rows, never edits them). Looked up several times per
    # invocation; scanning the row's repeated handler field each time is measurably slower.
    _found: dict[tuple[str, str], tuple[st.ServiceRow, pb.HandlerSpec]] = field(
        default_factory=dict
    )

    @classmethod
    def load(cls, reader: tables.ScanReader) -> Schema:
        schema = cls()
        for d in tables.all_deployments(reader):
            schema.deployments[d.id] = d
        for s in tables.all_services(reader):
            schema.services[s.spec.name] = s
        return schema

    def staged(self) -> Schema:
        """A copy to change (rows are shared: registration replaces rows, never edits them)."""
        return Schema(dict(self.deployments), dict(self.services))

    def adopt(self, other: Schema) -> None:
        """Take `other`'s tables, keeping this object (others hold a reference to it)."""
        self.deployments = other.deployments
        self.services = other.services

    def handler(self, service: str, handler: str) -> tuple[st.ServiceRow, pb.HandlerSpec] | None:
        row = self.services.get(service)
        if row is None:
            return None
        found = self._found.get((service, handler))
        if found is not None and found[0] is row:
            return found
        for h in row.spec.handlers:
            if h.name == handler:
                found = self._found[(service, handler)] = (row, h)
                return found
        return None

    def option(self, service: str, handler: str, name: str) -> int | None:
        """A numeric option of `pb.Options` (e.g. "inactivity_timeout_ms"): the handler's own
        setting, else its service's, else None (the server default applies)."""
        found = self.handler(service, handler)
        if found is None:
            return None
        row, spec = found
        for opts in (spec.options, row.spec.options):
            if opts.HasField(name):
                return int(getattr(opts, name))
        return None

    def output_content_type(self, service: str, handler: str) -> str:
        found = self.handler(service, handler)
        if found is None or not found[1].output.present:
            return ""
        return found[1].output.content_type
