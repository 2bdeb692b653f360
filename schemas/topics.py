"""The topic catalog, read from deploy/topics.yaml (the one source of truth for topics)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

__all__ = ["DEFAULT_TOPICS_FILE", "TopicSpec", "domain_topics", "load_topics", "prefixed"]

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
    retention_ms: int
    cleanup_policy: str
    consumers: tuple[str, ...]
    events: tuple[str, ...] = field(default=())


def load_topics(path: Path | None = None) -> list[TopicSpec]:
    raw: Any = yaml.safe_load((path or DEFAULT_TOPICS_FILE).read_text(encoding="utf-8"))
    out: list[TopicSpec] = []
    for item in raw["topics"]:
        out.append(
            TopicSpec(
                name=str(item["name"]),
                kind=str(item["kind"]),
                owner=str(item["owner"]),
                key=str(item["key"]),
                partitions=int(item["partitions"]),
                retention_ms=int(item["retention_ms"]),
                cleanup_policy=str(item["cleanup_policy"]),
                consumers=tuple(str(c) for c in item.get("consumers") or ()),
                events=tuple(str(e) for e in item.get("events") or ()),
            )
        )
    return out


def domain_topics(path: Path | None = None) -> tuple[str, ...]:
    """The services' event topics (not intake, not DLQs): what a downstream subscriber follows."""
    return tuple(t.name for t in load_topics(path) if t.kind == "domain")


def prefixed(topic: str, prefix: str) -> str:
    """RCM_TOPIC_PREFIX is prepended as is (no separator added)."""
    return f"{prefix}{topic}"
