"""Committed artifacts equal what the models generate; baselines exist and hold."""

from __future__ import annotations

from typing import Any

import yaml

from schemas.envelope import HEADER_NAMES
from schemas.generate import (
    ASYNCAPI_FILE,
    build_asyncapi,
    check_baselines,
    generated_artifacts,
    missing_baselines,
    stale_artifacts,
)
from schemas.registry import REGISTRY
from schemas.topics import load_topics


def test_committed_artifacts_are_up_to_date() -> None:
    stale = stale_artifacts()
    assert not stale, f"out of date (run `rcm schemas generate`): {stale}"


def test_generation_is_deterministic() -> None:
    assert generated_artifacts() == generated_artifacts()


def test_every_event_has_a_baseline_and_is_compatible() -> None:
    assert missing_baselines() == []
    problems, missing = check_baselines()
    assert missing == []
    assert problems == [], "\n".join(map(str, problems))


def _document() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(ASYNCAPI_FILE.read_text(encoding="utf-8"))
    return loaded


def test_asyncapi_covers_every_topic_message_key_and_header() -> None:
    doc = _document()
    assert doc == build_asyncapi()
    assert doc["asyncapi"] == "3.0.0"
    topics = load_topics()
    assert set(doc["channels"]) == {t.name for t in topics}
    for topic in topics:
        channel = doc["channels"][topic.name]
        assert channel["address"] == topic.name
        assert channel["bindings"]["kafka"]["partitions"] == topic.partitions
        assert f"{topic.owner}.send.{topic.name}" in doc["operations"]
        for consumer in topic.consumers:
            assert doc["operations"][f"{consumer}.receive.{topic.name}"]["action"] == "receive"
    messages = doc["components"]["messages"]
    for event_type, spec in REGISTRY.items():
        message = messages[event_type]
        assert doc["channels"][spec.topic]["messages"][spec.name] == {"$ref": f"#/components/messages/{event_type}"}
        assert set(message["headers"]["properties"]) == set(HEADER_NAMES)
        assert "traceparent" not in message["headers"]["required"]
        assert message["headers"]["properties"]["ce_type"]["const"] == event_type
        assert spec.key_field in message["bindings"]["kafka"]["key"]["description"]
        assert message["payload"]["$ref"].removeprefix("#/components/schemas/") in doc["components"]["schemas"]
        assert message["examples"]
        for example in message["examples"]:
            assert example["headers"]["ce_subject"] == example["payload"][spec.key_field]


def test_asyncapi_refs_all_resolve() -> None:
    doc = _document()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str):
                target: Any = doc
                for part in ref[2:].split("/"):
                    assert part in target, ref
                    target = target[part]
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(doc)
