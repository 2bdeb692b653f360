"""What it takes to bring a cluster's topics to the catalog: pure (catalog + observed state in,
steps out), so `rcm topics apply`, `rcm up` and the test harness plan alike and the rules are
tested without a broker (services.chassis.topics observes and applies).

Rules: a missing topic is created; partitions are only ever raised; the config keys the catalog
names are altered when they differ (every other config of the topic is left as it is); a partition
decrease or another replication factor is drift: reported with what to do, never applied (Kafka
cannot remove partitions, and moving replicas is a reassignment an operator plans)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Literal

from schemas.topics import TopicSpec
from services.chassis.settings import Settings

Action = Literal["create", "add_partitions", "alter_config", "none", "drift", "unmanaged"]
PROBE_TOPIC = "rcm.probe.v1"
"""The readiness probe's topic (services.chassis.topics.kafka_roundtrip): ours, not the catalog's."""


@dataclass(frozen=True)
class Wanted:
    """A catalog topic as this deployment wants it: prefixed, with the replication factor in force."""

    name: str
    partitions: int
    replication_factor: int
    configs: dict[str, str]
    note: str = ""
    """Why a value differs from the catalog's (the replication factor imposed by the settings)."""


@dataclass(frozen=True)
class Observed:
    name: str
    partitions: int
    replication_factor: int
    configs: dict[str, str | None]
    """Every config as the broker describes it (defaults included); None when sensitive."""
    overrides: dict[str, str | None]
    """The configs set on the topic itself: what a whole-set (non-incremental) alter must send again."""
    under_replicated: int = 0
    """Partitions with fewer in-sync replicas than replicas."""


@dataclass(frozen=True)
class Cluster:
    brokers: int
    topics: dict[str, Observed]


@dataclass(frozen=True)
class Step:
    topic: str
    action: Action
    detail: str
    partitions: int = 0
    """create: the count; add_partitions: the new total."""
    replication_factor: int = 0
    configs: dict[str, str] = field(default_factory=dict)
    """create: the catalog's configs; alter_config: the topic's whole new set of overrides."""

    def as_json(self) -> dict[str, str]:
        return {"topic": self.topic, "action": self.action, "detail": self.detail}


def wanted_topics(catalog: Iterable[TopicSpec], settings: Settings) -> list[Wanted]:
    override = settings.replication_factor_override
    out: list[Wanted] = []
    for spec in catalog:
        configs = dict(spec.configs)
        note = ""
        if override is not None and override != spec.replication_factor:
            note = f"replication factor {override} set by the settings (catalog {spec.replication_factor})"
            isr = configs.get("min.insync.replicas")
            # Said in the plan, not hidden: with fewer replicas than the catalog's minimum, no
            # acks=all write could ever succeed.
            if isr is not None and int(isr) > override:
                configs["min.insync.replicas"] = str(override)
                note += f", so min.insync.replicas {override} (catalog {isr})"
        out.append(Wanted(settings.topic(spec.name), spec.partitions,
                          override if override is not None else spec.replication_factor, configs, note))
    return out


def plan(wanted: list[Wanted], cluster: Cluster, prefix: str) -> list[Step]:
    steps: list[Step] = []
    for topic in wanted:
        found = cluster.topics.get(topic.name)
        steps.extend(_create(topic, cluster.brokers) if found is None else _converge(topic, found))
    known = {t.name for t in wanted} | {prefix + PROBE_TOPIC}
    for name in sorted(cluster.topics):
        if name.startswith(prefix + "rcm.") and name not in known:
            steps.append(Step(name, "unmanaged", "not in the catalog: left alone"))
    return steps


def has_drift(steps: Iterable[Step]) -> bool:
    return any(s.action == "drift" for s in steps)


def _create(topic: Wanted, brokers: int) -> list[Step]:
    if topic.replication_factor > brokers:
        return [Step(topic.name, "drift",
                     f"missing, and its replication factor {topic.replication_factor} needs as many brokers; the "
                     f"cluster has {brokers}: add brokers, or set RCM_TOPIC_REPLICATION_FACTOR (not created)")]
    detail = (f"{topic.partitions} partitions, replication factor {topic.replication_factor}, "
              f"{_pairs(topic.configs)}" + (f" ({topic.note})" if topic.note else ""))
    return [Step(topic.name, "create", detail, partitions=topic.partitions,
                 replication_factor=topic.replication_factor, configs=topic.configs)]


def _converge(topic: Wanted, found: Observed) -> list[Step]:
    steps: list[Step] = []
    if found.partitions > topic.partitions:
        steps.append(Step(topic.name, "drift",
                          f"{found.partitions} partitions, the catalog {topic.partitions}: Kafka cannot remove "
                          f"partitions; raise the catalog's count to {found.partitions} (or recreate the topic, "
                          "losing its records)"))
    elif found.partitions < topic.partitions:
        steps.append(Step(topic.name, "add_partitions",
                          f"{found.partitions} -> {topic.partitions} partitions (a key may move to another "
                          "partition: order per key holds from then on)", partitions=topic.partitions))
    if found.replication_factor != topic.replication_factor:
        steps.append(Step(topic.name, "drift",
                          f"replication factor {found.replication_factor}, wanted {topic.replication_factor}"
                          + (f" ({topic.note})" if topic.note else "")
                          + ": change it with a partition reassignment (kafka-reassign-partitions.sh), or set "
                          "RCM_TOPIC_REPLICATION_FACTOR to what the cluster has"))
    differ = {k: v for k, v in topic.configs.items() if found.configs.get(k) != v}
    if differ:
        steps.append(_alter(topic.name, differ, found))
    return steps or [Step(topic.name, "none", "in sync")]


def _alter(name: str, differ: dict[str, str], found: Observed) -> Step:
    hidden = sorted(k for k, v in found.overrides.items() if v is None and k not in differ)
    if hidden:
        # The whole-set alter would have to send them again, and the broker does not tell us their values.
        return Step(name, "drift",
                    f"{_changes(differ, found.configs)}; the topic also has sensitive configs set "
                    f"({', '.join(hidden)}) that altering would reset: set these keys by hand "
                    f"(kafka-configs.sh --alter --add-config {_pairs(differ, ',')})")
    kept = {k: v for k, v in found.overrides.items() if v is not None}
    return Step(name, "alter_config", _changes(differ, found.configs), configs={**kept, **differ})


def _changes(differ: Mapping[str, str], current: Mapping[str, str | None]) -> str:
    return "; ".join(f"{k} {current.get(k) or 'unset'} -> {v}" for k, v in differ.items())


def _pairs(configs: Mapping[str, str], sep: str = ", ") -> str:
    return sep.join(f"{k}={v}" for k, v in configs.items())
