"""The topic catalog, read from deploy/topics.yaml (the one source of truth for topics).

The one reader of the file: services.chassis.topics re-exports it for what runs on a broker."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

__all__ = ["DEFAULT_TOPICS_FILE", "CatalogError", "TopicSpec", "domain_topics", "load_topics", "prefixed"]

DEFAULT_TOPICS_FILE = Path(__file__).resolve().parent.parent / "deploy" / "topics.yaml"


@dataclass(frozen=True)
class TopicSpec:
    name: str
    kind: str
    """intake, domain or dlq."""
    owner: str
    key: str
    """What the record key is, in words."""
    partitions: int
    replication_factor: int
    configs: dict[str, str]
    """The topic configs the catalog manages (the defaults' merged with the topic's own), as the
    broker spells their values; any other config of the topic is not ours to touch."""
    consumers: tuple[str, ...]
    events: tuple[str, ...] = field(default=())

    @property
    def retention_ms(self) -> int:
        return int(self.configs["retention.ms"])

    @property
    def cleanup_policy(self) -> str:
        return self.configs["cleanup.policy"]


class CatalogError(ValueError):
    """deploy/topics.yaml (or the copy given) describes something a cluster cannot have."""


def _config_value(value: Any) -> str:
    # The broker answers "true"/"false", never Python's "True".
    return str(value).lower() if isinstance(value, bool) else str(value)


def load_topics(path: Path | None = None) -> list[TopicSpec]:
    raw: Any = yaml.safe_load((path or DEFAULT_TOPICS_FILE).read_text(encoding="utf-8"))
    if not isinstance(raw, dict) or not isinstance(raw.get("topics"), list):
        raise CatalogError("expected a mapping with a `topics` list")
    defaults: Any = raw.get("defaults") or {}
    if not isinstance(defaults, dict):
        raise CatalogError("`defaults` must be a mapping")
    out: list[TopicSpec] = []
    for number, item in enumerate(raw["topics"], 1):
        try:
            spec = _spec(item, defaults)
            _check(spec)
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            what = f"no {exc}" if isinstance(exc, KeyError) else str(exc)
            raise CatalogError(f"topic {number}: {what}") from exc
        out.append(spec)
    return out


def _spec(item: Any, defaults: dict[str, Any]) -> TopicSpec:
    configs = {str(k): _config_value(v) for k, v in {**(defaults.get("configs") or {}),
                                                      **(item.get("configs") or {})}.items()}
    return TopicSpec(
        name=str(item["name"]),
        kind=str(item["kind"]),
        owner=str(item["owner"]),
        key=str(item["key"]),
        partitions=int(item["partitions"]),
        replication_factor=int(item.get("replication_factor", defaults.get("replication_factor", 1))),
        configs=configs,
        consumers=tuple(str(c) for c in item.get("consumers") or ()),
        events=tuple(str(e) for e in item.get("events") or ()),
    )


def _check(spec: TopicSpec) -> None:
    if spec.partitions < 1 or spec.replication_factor < 1:
        raise CatalogError(f"{spec.name}: partitions and replication_factor must be at least 1")
    for needed in ("retention.ms", "cleanup.policy"):
        if needed not in spec.configs:
            raise CatalogError(f"{spec.name}: configs must name {needed}")
    if not spec.configs["retention.ms"].lstrip("-").isdigit():
        raise CatalogError(f"{spec.name}: retention.ms must be a whole number of milliseconds")
    if int(spec.configs.get("min.insync.replicas", 1)) > spec.replication_factor:
        raise CatalogError(f"{spec.name}: min.insync.replicas exceeds the replication factor"
                           f" {spec.replication_factor}: no write could ever be acknowledged")


def domain_topics(path: Path | None = None) -> tuple[str, ...]:
    """The services' event topics (not intake, not DLQs): what a downstream subscriber follows."""
    return tuple(t.name for t in load_topics(path) if t.kind == "domain")


def prefixed(topic: str, prefix: str) -> str:
    """RCM_TOPIC_PREFIX is prepended as is (no separator added)."""
    return f"{prefix}{topic}"
