"""Generated artifacts: JSON Schema per event and one AsyncAPI 3.0 document.

Everything here is a pure function of the models and deploy/topics.yaml, rendered with
sorted keys, so regenerating unchanged contracts rewrites identical bytes and a test can
compare the committed files with a fresh generation.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import yaml
from pydantic.json_schema import models_json_schema

from schemas.compat import Incompatibility, check_directories, load_schema_dir
from schemas.dlq import DLQ_HEADERS, DeadLetterInfo
from schemas.envelope import TRACEPARENT_RE
from schemas.registry import REGISTRY, EventSpec
from schemas.topics import TopicSpec, load_topics

__all__ = [
    "ASYNCAPI_FILE",
    "BASELINE_DIR",
    "GENERATED_DIR",
    "SCHEMAS_DIR",
    "baseline_relpath",
    "build_asyncapi",
    "check_baselines",
    "event_json_schema",
    "generated_artifacts",
    "jsonschema_relpath",
    "missing_baselines",
    "render_json",
    "render_yaml",
    "stale_artifacts",
    "write_artifacts",
]

SCHEMAS_DIR = Path(__file__).resolve().parent
GENERATED_DIR = SCHEMAS_DIR / "generated"
BASELINE_DIR = SCHEMAS_DIR / "baseline"
ASYNCAPI_FILE = GENERATED_DIR / "asyncapi.yaml"

JSON_SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"
EXAMPLE_TIME = "2026-03-02T14:05:00Z"
_EXAMPLE_NS = uuid.UUID("6f1d3c2a-8b4e-4f7a-9c5d-0e2b1a3c4d5e")
_KAFKA_BINDING = "0.5.0"


def render_json(obj: Any) -> str:
    return json.dumps(obj, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def render_yaml(obj: Any) -> str:
    return yaml.safe_dump(obj, sort_keys=True, allow_unicode=True, default_flow_style=False, width=100)


def jsonschema_relpath(event_type: str) -> str:
    return f"generated/jsonschema/{event_type}.json"


def baseline_relpath(event_type: str) -> str:
    version = event_type.rsplit(".", 1)[1]
    return f"baseline/{version}/{event_type}.json"


def event_json_schema(spec: EventSpec) -> dict[str, Any]:
    """The event's JSON Schema (validation mode, i.e. what a producer may send)."""
    schema = spec.model.model_json_schema(mode="validation")
    schema["$schema"] = JSON_SCHEMA_DIALECT
    schema["$id"] = f"urn:revcycle:event:{spec.type}"
    schema["x-rcm-event-type"] = spec.type
    schema["x-rcm-topic"] = spec.topic
    schema["x-rcm-key-field"] = spec.key_field
    schema["x-rcm-producer"] = spec.producer
    return schema


def _example_headers(spec: EventSpec, example: dict[str, Any], index: int) -> dict[str, str]:
    return {
        "ce_specversion": "1.0",
        "ce_id": str(uuid.uuid5(_EXAMPLE_NS, f"{spec.type}#{index}")),
        "ce_source": "epic-prod" if spec.producer == "integration" else spec.producer,
        "ce_type": spec.type,
        "ce_time": EXAMPLE_TIME,
        "ce_subject": str(example[spec.key_field]),
        "content-type": "application/json",
        "traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
    }


def _headers_schema(spec: EventSpec) -> dict[str, Any]:
    return {
        "type": "object",
        "description": "CloudEvents 1.0 attributes in Kafka binary mode, plus W3C trace context.",
        "required": ["ce_specversion", "ce_id", "ce_source", "ce_type", "ce_time", "ce_subject", "content-type"],
        "properties": {
            "ce_specversion": {"type": "string", "const": "1.0"},
            "ce_id": {
                "type": "string",
                "format": "uuid",
                "description": "Unique event id; consumers dedupe on it. Keep it when republishing.",
            },
            "ce_source": {
                "type": "string",
                "description": "The producer: a service name, or the sending system for intake events.",
            },
            "ce_type": {"type": "string", "const": spec.type},
            "ce_time": {"type": "string", "format": "date-time", "description": "RFC 3339 with an offset."},
            "ce_subject": {
                "type": "string",
                "description": f"The aggregate id: the payload's `{spec.key_field}`, equal to the record key.",
            },
            "content-type": {"type": "string", "const": "application/json"},
            "traceparent": {
                "type": "string",
                "pattern": TRACEPARENT_RE.pattern,
                "description": "W3C trace context (optional).",
            },
        },
    }


def _dlq_headers_schema() -> dict[str, Any]:
    props: dict[str, Any] = {}
    fields = DeadLetterInfo.model_json_schema()["properties"]
    for field_name, header in DLQ_HEADERS.items():
        prop = dict(fields[field_name])
        prop.pop("title", None)
        # Headers are bytes on the wire: numbers and times travel as their text form.
        if prop.get("type") == "integer":
            prop = {"type": "string", "pattern": "^[0-9]+$", "description": prop.get("description", "")}
        props[header] = prop
    return {
        "type": "object",
        "description": "Dead-letter headers, added to the original record's own headers (ce_* kept as received).",
        "required": list(DLQ_HEADERS.values()),
        "properties": props,
    }


def build_asyncapi(topics: list[TopicSpec] | None = None) -> dict[str, Any]:
    """The whole system as one AsyncAPI 3.0 document."""
    topics = topics if topics is not None else load_topics()
    specs = list(REGISTRY.values())
    mapping, defs = models_json_schema(
        [(s.model, "validation") for s in specs], ref_template="#/components/schemas/{model}"
    )
    schemas: dict[str, Any] = dict(defs.get("$defs", {}))

    messages: dict[str, Any] = {}
    for order, spec in enumerate(specs):
        ref = mapping[(spec.model, "validation")]
        model_schema = spec.model.model_json_schema()
        examples = model_schema.get("examples", [])
        messages[spec.type] = {
            "name": spec.name,
            "title": spec.name,
            "summary": (spec.model.__doc__ or "").strip().split("\n\n")[0].replace("\n", " "),
            "description": (spec.model.__doc__ or "").strip(),
            "contentType": "application/json",
            "headers": _headers_schema(spec),
            "payload": {"$ref": ref["$ref"]},
            "bindings": {
                "kafka": {
                    "key": {"type": "string", "description": f"The payload's `{spec.key_field}`."},
                    "bindingVersion": _KAFKA_BINDING,
                }
            },
            "tags": [{"name": spec.producer}],
            "examples": [
                {
                    "name": f"{spec.name}-{i + 1}",
                    "summary": f"{spec.name} example {i + 1}",
                    "headers": _example_headers(spec, ex, i),
                    "payload": ex,
                }
                for i, ex in enumerate(examples)
            ],
            "x-rcm-event-type": spec.type,
            "x-rcm-key-field": spec.key_field,
            "x-rcm-producer": spec.producer,
            "x-rcm-order": order,
        }
    messages["DeadLetterRecord"] = {
        "name": "DeadLetterRecord",
        "title": "Dead-letter record",
        "summary": "A record a service could not decode or that broke its contract.",
        "description": "Same key and value bytes as the original record; the original headers are kept and "
        "dlq_* headers say where it came from and why it failed (never a payload value). "
        "`rcm dlq replay` re-delivers it to the one service whose DLQ holds it.",
        "contentType": "application/octet-stream",
        "headers": _dlq_headers_schema(),
        "payload": {"description": "The original record value, byte for byte (it may not be JSON)."},
        "bindings": {
            "kafka": {
                "key": {"type": "string", "description": "The original record key."},
                "bindingVersion": _KAFKA_BINDING,
            }
        },
        "x-rcm-order": len(specs),
    }

    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    for order, topic in enumerate(topics):
        if topic.kind == "dlq":
            channel_messages = {"DeadLetterRecord": {"$ref": "#/components/messages/DeadLetterRecord"}}
        else:
            channel_messages = {
                REGISTRY[t].name: {"$ref": f"#/components/messages/{t}"} for t in topic.events if t in REGISTRY
            }
        channels[topic.name] = {
            "address": topic.name,
            "title": topic.name,
            "description": f"Owner: {topic.owner}. Key: {topic.key}. The run's RCM_TOPIC_PREFIX is "
            f"prepended to the address.",
            "messages": channel_messages,
            "bindings": {
                "kafka": {
                    "topic": topic.name,
                    "partitions": topic.partitions,
                    "topicConfiguration": {
                        "cleanup.policy": [topic.cleanup_policy],
                        "retention.ms": topic.retention_ms,
                    },
                    "bindingVersion": _KAFKA_BINDING,
                }
            },
            "x-rcm-kind": topic.kind,
            "x-rcm-owner": topic.owner,
            "x-rcm-key": topic.key,
            "x-rcm-consumers": list(topic.consumers),
            "x-rcm-order": order,
        }
        message_refs = [{"$ref": f"#/channels/{topic.name}/messages/{name}"} for name in channel_messages]
        operations[f"{topic.owner}.send.{topic.name}"] = {
            "action": "send",
            "channel": {"$ref": f"#/channels/{topic.name}"},
            "title": f"{topic.owner} publishes to {topic.name}",
            "messages": message_refs,
        }
        for consumer in topic.consumers:
            operations[f"{consumer}.receive.{topic.name}"] = {
                "action": "receive",
                "channel": {"$ref": f"#/channels/{topic.name}"},
                "title": f"{consumer} consumes {topic.name}",
                "messages": message_refs,
            }

    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "Revcycle event contracts",
            "version": "1.0.0",
            "license": {"name": "Apache-2.0"},
            "description": _INFO,
        },
        "defaultContentType": "application/json",
        "servers": {
            "local": {
                "host": "127.0.0.1:39092",
                "protocol": "kafka",
                "description": "The local stack. Elsewhere, RCM_KAFKA_BOOTSTRAP names the brokers.",
            }
        },
        "channels": channels,
        "operations": operations,
        "components": {"messages": messages, "schemas": schemas},
    }


_INFO = """\
Every hop of the Revcycle revenue cycle is a Kafka event described here.

* **Envelope**: CloudEvents 1.0 in Kafka binary mode. The record value is the event JSON;
  headers carry ce_specversion, ce_id (UUID, the dedupe key), ce_source, ce_type, ce_time,
  ce_subject (the aggregate id, equal to the record key), content-type: application/json,
  and an optional W3C traceparent.
* **Keys**: every topic is one stream per aggregate; all events about one aggregate carry its
  id as the key, so they stay in order on one partition. Keys and headers carry opaque ids
  only, never PHI.
* **Values**: money is a decimal string with two places ("125.00"), never a JSON number;
  dates and times are ISO 8601 (times with an offset).
* **Producers** must send exactly the fields of the schema (unknown fields are refused);
  **consumers** ignore fields they do not know.
* **Compatibility**: within a version (v1) fields may be added only as optional; removing or
  renaming a field, making one required, narrowing a type or changing a topic or key field
  needs a new event version. Committed baselines enforce this (`rcm schemas check`).
* **Topic prefix**: RCM_TOPIC_PREFIX is prepended to every address at run time.
"""


def generated_artifacts(topics: list[TopicSpec] | None = None) -> dict[str, str]:
    """Relative path under schemas/ -> file text, for every generated artifact."""
    out = {jsonschema_relpath(t): render_json(event_json_schema(s)) for t, s in REGISTRY.items()}
    out["generated/asyncapi.yaml"] = render_yaml(build_asyncapi(topics))
    return out


def stale_artifacts(root: Path = SCHEMAS_DIR, topics: list[TopicSpec] | None = None) -> list[str]:
    """Generated files that are missing, different, or no longer generated."""
    expected = generated_artifacts(topics)
    stale = [
        rel
        for rel, text in sorted(expected.items())
        if not (root / rel).is_file() or (root / rel).read_text(encoding="utf-8") != text
    ]
    jsonschema_dir = root / "generated" / "jsonschema"
    if jsonschema_dir.is_dir():
        for path in sorted(jsonschema_dir.glob("*.json")):
            rel = path.relative_to(root).as_posix()
            if rel not in expected:
                stale.append(rel)
    return stale


def missing_baselines(root: Path = SCHEMAS_DIR) -> list[str]:
    return [baseline_relpath(t) for t in REGISTRY if not (root / baseline_relpath(t)).is_file()]


def write_artifacts(root: Path = SCHEMAS_DIR, topics: list[TopicSpec] | None = None) -> list[str]:
    """(Re)write generated artifacts, drop ones no longer generated, and add a baseline for
    every event type that has none. Existing baselines are never touched: they are the
    committed promise that compatibility is checked against. Returns changed paths."""
    changed: list[str] = []
    expected = generated_artifacts(topics)
    for rel, text in sorted(expected.items()):
        path = root / rel
        if not path.is_file() or path.read_text(encoding="utf-8") != text:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
            changed.append(rel)
    jsonschema_dir = root / "generated" / "jsonschema"
    for path in sorted(jsonschema_dir.glob("*.json")):
        rel = path.relative_to(root).as_posix()
        if rel not in expected:
            path.unlink()
            changed.append(rel)
    for rel in missing_baselines(root):
        event_type = Path(rel).stem
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(expected[jsonschema_relpath(event_type)], encoding="utf-8")
        changed.append(rel)
    return changed


def check_baselines(
    root: Path = SCHEMAS_DIR, *, include_widening: bool = False
) -> tuple[list[Incompatibility], list[str]]:
    """Compare every committed baseline with what the models generate now.

    Returns (incompatibilities, event types that have no baseline yet); with
    `include_widening`, widenings (breaking=False) are listed too.
    """
    baseline: dict[str, dict[str, Any]] = {}
    base_dir = root / "baseline"
    if base_dir.is_dir():
        for version_dir in sorted(p for p in base_dir.iterdir() if p.is_dir()):
            baseline.update(load_schema_dir(version_dir))
    current = {t: event_json_schema(s) for t, s in REGISTRY.items()}
    missing = sorted(t for t in current if t not in baseline)
    return check_directories(baseline, current, include_widening=include_widening), missing
