"""deploy/topics.yaml and the registry describe the same catalog."""

from __future__ import annotations

from schemas.registry import INTAKE_TOPICS, REGISTRY
from schemas.topics import load_topics


def test_every_event_topic_exists_and_events_match() -> None:
    topics = {t.name: t for t in load_topics()}
    for spec in REGISTRY.values():
        assert spec.topic in topics, f"{spec.type}: topic {spec.topic} missing from topics.yaml"
        assert topics[spec.topic].kind in ("intake", "domain")
    for topic in topics.values():
        registered = [t for t, s in REGISTRY.items() if s.topic == topic.name]
        assert list(topic.events) == registered, f"{topic.name}: events in topics.yaml differ from the registry"


def test_owners_and_kinds_agree_with_producers() -> None:
    topics = {t.name: t for t in load_topics()}
    for spec in REGISTRY.values():
        assert topics[spec.topic].owner == spec.producer
    assert {t.name for t in topics.values() if t.kind == "intake"} == set(INTAKE_TOPICS)


def test_each_consuming_service_has_a_dlq() -> None:
    topics = load_topics()
    names = {t.name for t in topics}
    for topic in topics:
        for consumer in topic.consumers:
            assert f"rcm.{consumer}.dlq.v1" in names
        if topic.kind == "dlq":
            assert not topic.events
