"""The compatibility checker catches each kind of break and accepts additive changes."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest

from schemas.compat import Incompatibility, check_compatibility, check_directories
from schemas.generate import event_json_schema
from schemas.registry import REGISTRY

# A small schema shaped like pydantic's output: $defs, $ref, nullable anyOf, enums.
BASE: dict[str, Any] = {
    "type": "object",
    "title": "ThingHappened",
    "additionalProperties": False,
    "x-rcm-topic": "rcm.things.v1",
    "x-rcm-key-field": "thing_id",
    "required": ["thing_id", "amount", "status", "address", "tags"],
    "properties": {
        "thing_id": {"type": "string", "pattern": "^[a-z0-9_]{1,64}$"},
        "amount": {"type": "string", "pattern": r"^-?[0-9]{1,10}(\.[0-9]{1,2})?$"},
        "status": {"type": "string", "enum": ["open", "closed", "void"]},
        "count": {"anyOf": [{"type": "integer", "minimum": 0, "maximum": 100}, {"type": "null"}], "default": None},
        "note": {"anyOf": [{"type": "string", "maxLength": 200}, {"type": "null"}], "default": None},
        "address": {"$ref": "#/$defs/Address"},
        "tags": {"type": "array", "items": {"type": "string"}, "maxItems": 4},
        "lines": {"type": "array", "items": {"$ref": "#/$defs/Line"}, "default": []},
    },
    "$defs": {
        "Address": {
            "type": "object",
            "title": "Address",
            "additionalProperties": False,
            "required": ["city", "zip"],
            "properties": {
                "city": {"type": "string", "maxLength": 30},
                "zip": {"type": "string", "pattern": "^[0-9]{5}$"},
                "line2": {"anyOf": [{"type": "string"}, {"type": "null"}], "default": None},
            },
        },
        "Line": {
            "type": "object",
            "title": "Line",
            "required": ["charge"],
            "properties": {
                "charge": {"type": "string"},
                "next": {"anyOf": [{"$ref": "#/$defs/Line"}, {"type": "null"}], "default": None},
            },
        },
    },
}


def changed(mutate: Callable[[dict[str, Any]], None]) -> list[Incompatibility]:
    new = copy.deepcopy(BASE)
    mutate(new)
    return check_compatibility(BASE, new)


def kinds(found: list[Incompatibility]) -> set[tuple[str, str]]:
    return {(i.path, i.kind) for i in found}


def test_identical_is_compatible() -> None:
    assert check_compatibility(BASE, copy.deepcopy(BASE)) == []


def test_adding_an_optional_field_is_compatible() -> None:
    def mutate(s: dict[str, Any]) -> None:
        s["properties"]["memo"] = {"anyOf": [{"type": "string"}, {"type": "null"}], "default": None}
        s["$defs"]["Address"]["properties"]["county"] = {"anyOf": [{"type": "string"}, {"type": "null"}]}

    assert changed(mutate) == []


def test_widening_is_compatible() -> None:
    def mutate(s: dict[str, Any]) -> None:
        s["properties"]["status"]["enum"].append("archived")
        s["properties"]["note"]["anyOf"][0]["maxLength"] = 500
        s["properties"]["tags"]["maxItems"] = 10
        s["properties"]["count"]["anyOf"][0]["maximum"] = 1000
        del s["$defs"]["Address"]["properties"]["zip"]["pattern"]

    assert changed(mutate) == []


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (lambda s: s["properties"].pop("note"), ("note", "field_removed")),
        (lambda s: s["$defs"]["Address"]["properties"].pop("line2"), ("address.line2", "field_removed")),
        (
            lambda s: (s["properties"].__setitem__("region", {"type": "string"}), s["required"].append("region")),
            ("region", "field_added_required"),
        ),
        (lambda s: s["required"].append("note"), ("note", "field_required")),
        (lambda s: s["required"].remove("status"), ("status", "field_optional")),
        (lambda s: s["properties"].__setitem__("amount", {"type": "integer"}), ("amount", "type_narrowed")),
        (lambda s: s["properties"]["note"].__setitem__("anyOf", [{"type": "string"}]), ("note", "type_narrowed")),
        (lambda s: s["properties"]["status"]["enum"].remove("void"), ("status", "enum_value_removed")),
        (lambda s: s["properties"]["thing_id"].__setitem__("enum", ["a"]), ("thing_id", "enum_added")),
        (
            lambda s: s["$defs"]["Address"]["properties"]["city"].__setitem__("maxLength", 20),
            ("address.city", "max_length_decreased"),
        ),
        (lambda s: s["properties"]["thing_id"].__setitem__("minLength", 3), ("thing_id", "min_length_increased")),
        (
            lambda s: s["properties"]["amount"].__setitem__("pattern", r"^[0-9]+\.[0-9]{2}$"),
            ("amount", "pattern_changed"),
        ),
        (lambda s: s["properties"]["tags"]["items"].__setitem__("format", "uuid"), ("tags[]", "format_changed")),
        (lambda s: s["properties"]["tags"].__setitem__("maxItems", 2), ("tags", "max_items_decreased")),
        (lambda s: s["properties"]["count"]["anyOf"][0].__setitem__("minimum", 1), ("count", "minimum_increased")),
        (lambda s: s["properties"]["count"]["anyOf"][0].__setitem__("maximum", 10), ("count", "maximum_decreased")),
        (
            lambda s: s["$defs"]["Line"].__setitem__("additionalProperties", False),
            ("lines[]", "additional_properties_refused"),
        ),
        (lambda s: s.__setitem__("x-rcm-key-field", "other_id"), ("$", "key_field_changed")),
        (lambda s: s.__setitem__("x-rcm-topic", "rcm.other.v1"), ("$", "topic_changed")),
        (lambda s: s["$defs"]["Line"]["required"].append("next"), ("lines[].next", "field_required")),
    ],
)
def test_each_break_is_caught(mutate: Callable[[dict[str, Any]], Any], expected: tuple[str, str]) -> None:
    found = changed(mutate)
    assert expected in kinds(found), found


def test_refs_are_resolved_in_each_schema_separately() -> None:
    # The new schema inlines Address instead of referencing it: same shape, no break...
    new = copy.deepcopy(BASE)
    new["properties"]["address"] = copy.deepcopy(BASE["$defs"]["Address"])
    assert check_compatibility(BASE, new) == []
    # ...and a change inside the inlined copy is still found at the same path.
    new["properties"]["address"]["properties"]["zip"]["pattern"] = "^[0-9]{9}$"
    assert kinds(check_compatibility(BASE, new)) == {("address.zip", "pattern_changed")}


def test_recursive_refs_terminate() -> None:
    new = copy.deepcopy(BASE)
    new["$defs"]["Line"]["properties"]["charge"]["maxLength"] = 5
    found = kinds(check_compatibility(BASE, new))
    assert ("lines[].charge", "max_length_decreased") in found


def test_results_are_sorted_and_printable() -> None:
    def mutate(s: dict[str, Any]) -> None:
        s["properties"].pop("tags")
        s["properties"]["status"]["enum"].remove("open")

    found = changed(mutate)
    assert found == sorted(found)
    assert str(found[0]).count(":") >= 2


def test_directories_report_removed_event_types() -> None:
    found = check_directories({"rcm.things.ThingHappened.v1": BASE}, {})
    assert [(i.path, i.kind) for i in found] == [("rcm.things.ThingHappened.v1", "event_removed")]


def test_real_event_schema_breaks() -> None:
    old = event_json_schema(REGISTRY["rcm.claims.ClaimSubmitted.v1"])
    new = copy.deepcopy(old)
    new["$defs"]["SubmittedLine"]["properties"].pop("expected_allowed")
    new["$defs"]["PayerRef"]["properties"]["payer_name"]["maxLength"] = 35
    found = kinds(check_compatibility(old, new))
    assert ("lines[].expected_allowed", "field_removed") in found
    assert ("payer.payer_name", "max_length_decreased") in found


def test_widenings_are_reported_only_on_request() -> None:
    def mutate(s: dict[str, Any]) -> None:
        s["properties"]["status"]["enum"].append("archived")
        s["properties"]["note"]["anyOf"][0]["maxLength"] = 500
        del s["$defs"]["Address"]["properties"]["zip"]["pattern"]
        s["properties"]["amount"] = {"anyOf": [s["properties"]["amount"], {"type": "null"}]}

    new = copy.deepcopy(BASE)
    mutate(new)
    assert check_compatibility(BASE, new) == []
    found = check_compatibility(BASE, new, include_widening=True)
    assert all(not i.breaking for i in found)
    assert kinds(found) == {
        ("status", "enum_value_added"),
        ("note", "bound_relaxed"),
        ("address.zip", "pattern_removed"),
        ("amount", "type_widened"),
    }
