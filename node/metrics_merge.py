"""One /metrics for a node of several partition processes: the first process gathers every
process's exposition over the fabric and merges them, so dashboards see one node.

Counters and histograms add up. Gauges add up too (timers pending, attempts in flight, ...),
except those that describe one group (`GROUP_GAUGES`), which keep a sample per process with a
`group` label. `_created` samples keep the earliest.
"""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.metrics_core import Metric
from prometheus_client.parser import text_string_to_metric_families

GROUP_GAUGES = frozenset({"perdure_partition_applied_lsn"})


class _Merged:
    def __init__(self, sources: list[tuple[int, str]]) -> None:
        self._sources = sources

    def collect(self) -> Iterator[Metric]:
        families: dict[str, Metric] = {}
        values: dict[str, dict[tuple[str, tuple[tuple[str, str], ...]], float]] = {}
        for group, text in self._sources:
            for fam in text_string_to_metric_families(text):
                families.setdefault(fam.name, Metric(fam.name, fam.documentation, fam.type))
                samples = values.setdefault(fam.name, {})
                for s in fam.samples:
                    labels = dict(s.labels)
                    if fam.name in GROUP_GAUGES:
                        labels["group"] = str(group)
                    key = (s.name, tuple(sorted(labels.items())))
                    if s.name.endswith("_created"):
                        samples[key] = min(samples.get(key, s.value), s.value)
                    else:
                        samples[key] = samples.get(key, 0.0) + s.value
        for name, fam in families.items():
            for (sample_name, label_pairs), value in values[name].items():
                fam.add_sample(sample_name, dict(label_pairs), value)
            yield fam


def merge(sources: list[tuple[int, bytes]]) -> bytes:
    """The expositions of the processes (group, text) as one."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Merged([(g, text.decode()) for g, text in sources]))
    return generate_latest(registry)
