"""Backward-compatibility check between two JSON Schemas of one event version.

Within a version, two kinds of reader must keep working:

* producers written against the old schema: what they send must still validate, so no
  field may become required, no type may narrow (type removed, enum value removed, const
  changed, tighter length/bounds/items, pattern or format changed, unknown properties
  newly refused);
* consumers written against the old schema: what they rely on must still be there, so no
  field may disappear or stop being required, and the topic and key field stay put.

Adding an optional field is compatible: old consumers ignore it. Widening (a new enum
value, a looser length or bound, a removed pattern, an added type) is not a break for
producers, but a consumer still running the old model would refuse such a value, so it is
reported as a *widening*: not failing the check, printed so the change is deployed
consumers-first. `check_compatibility` returns breaks only unless `include_widening=True`.

The checker resolves local `$ref`s (`#/$defs/...`, `#/components/schemas/...`) in each
schema against that schema's own root and follows `anyOf`/`oneOf` branches.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["Incompatibility", "check_compatibility", "check_directories", "iter_kinds", "load_schema_dir"]

_REF = "x-compat-resolved-ref"
_TOP_LEVEL_KEYS = {"x-rcm-topic": "topic_changed", "x-rcm-key-field": "key_field_changed"}


@dataclass(frozen=True, order=True)
class Incompatibility:
    path: str
    """Where: `$` is the event itself, then field names (`lines[].charge`)."""
    kind: str
    """field_removed, field_required, field_optional, type_narrowed, enum_value_removed,
    const_changed, max_length_decreased, min_length_increased, pattern_changed, ... ."""
    detail: str
    breaking: bool = True
    """False for a widening: safe for producers, but deploy consumers first."""

    def __str__(self) -> str:
        return f"{self.path}: {self.kind}: {self.detail}"


def check_compatibility(
    old: Mapping[str, Any], new: Mapping[str, Any], *, include_widening: bool = False
) -> list[Incompatibility]:
    """Every backward-incompatible change from `old` to `new` (empty list: compatible);
    with `include_widening`, also the widenings (`breaking=False`)."""
    found: list[Incompatibility] = []
    for key, kind in _TOP_LEVEL_KEYS.items():
        if key in old and old.get(key) != new.get(key):
            found.append(Incompatibility("$", kind, f"{key} {old.get(key)!r} -> {new.get(key)!r}"))
    walker = _Walker(old, new)
    walker.compare(old, new, "$")
    found.extend(i for i in walker.found if include_widening or i.breaking)
    return sorted(set(found))


def check_directories(
    baseline: Mapping[str, Mapping[str, Any]],
    current: Mapping[str, Mapping[str, Any]],
    *,
    include_widening: bool = False,
) -> list[Incompatibility]:
    """Compare baselines with current schemas by event type; a vanished event type breaks."""
    found: list[Incompatibility] = []
    for event_type, old in sorted(baseline.items()):
        new = current.get(event_type)
        if new is None:
            found.append(Incompatibility(event_type, "event_removed", "no current schema for this event type"))
            continue
        found.extend(
            Incompatibility(f"{event_type} {i.path}", i.kind, i.detail, i.breaking)
            for i in check_compatibility(old, new, include_widening=include_widening)
        )
    return found


def load_schema_dir(directory: Path) -> dict[str, dict[str, Any]]:
    """`<event type>.json` files of a directory, by event type."""
    return {p.stem: json.loads(p.read_text(encoding="utf-8")) for p in sorted(directory.glob("*.json"))}


class _Walker:
    def __init__(self, old_root: Mapping[str, Any], new_root: Mapping[str, Any]) -> None:
        self.old_root = old_root
        self.new_root = new_root
        self.found: list[Incompatibility] = []
        # ($ref in old, $ref in new) pairs being compared right now: a recursive model
        # (a line that holds lines) is compared once per level it first appears at.
        self._active: set[tuple[str, str]] = set()

    def _add(self, path: str, kind: str, detail: str, *, breaking: bool = True) -> None:
        self.found.append(Incompatibility(path, kind, detail, breaking))

    # ----------------------------------------------------------------- resolution

    @staticmethod
    def _resolve(node: Any, root: Mapping[str, Any], trail: tuple[str, ...] = ()) -> Any:
        """Follow $ref (merging sibling keywords); the last ref followed is kept under _REF."""
        last_ref: str | None = None
        while isinstance(node, Mapping) and "$ref" in node:
            ref = node["$ref"]
            if not isinstance(ref, str) or not ref.startswith("#/"):
                raise ValueError(f"only local $ref is supported, got {ref!r}")
            if ref in trail:
                break
            trail = (*trail, ref)
            last_ref = ref
            target: Any = root
            for part in ref[2:].split("/"):
                target = target[part.replace("~1", "/").replace("~0", "~")]
            siblings = {k: v for k, v in node.items() if k != "$ref"}
            node = {**target, **siblings} if siblings else target
        if isinstance(node, Mapping) and isinstance(node.get("allOf"), list) and len(node["allOf"]) == 1:
            merged = {k: v for k, v in node.items() if k != "allOf"}
            inner = _Walker._resolve(node["allOf"][0], root, trail)
            node = {**inner, **merged}
        if last_ref is not None and isinstance(node, Mapping) and _REF not in node:
            node = {**node, _REF: last_ref}
        return node

    def _branches(self, node: Any, root: Mapping[str, Any]) -> list[Mapping[str, Any]]:
        node = self._resolve(node, root)
        if not isinstance(node, Mapping):
            return []
        for key in ("anyOf", "oneOf"):
            if isinstance(node.get(key), list):
                out: list[Mapping[str, Any]] = []
                shared = {k: v for k, v in node.items() if k not in (key, "description", "title", "default")}
                for branch in node[key]:
                    for b in self._branches(branch, root):
                        out.append({**shared, **b} if shared else b)
                return out
        types = node.get("type")
        if isinstance(types, list):
            return [{**node, "type": t} for t in types]
        return [node]

    @staticmethod
    def _kind(node: Mapping[str, Any]) -> str:
        if "type" in node:
            kind = str(node["type"])
            if kind == "object" and "title" in node:
                return f"object:{node['title']}"
            return kind
        values = node.get("enum", [node["const"]] if "const" in node else None)
        if values:
            names = {type(v).__name__ for v in values}
            return {"str": "string", "int": "integer", "bool": "boolean", "NoneType": "null"}.get(
                names.pop() if len(names) == 1 else "", "any"
            )
        if "properties" in node:
            return f"object:{node.get('title', '')}"
        return "any"

    # ----------------------------------------------------------------- comparison

    def compare(self, old: Any, new: Any, path: str) -> None:
        old_branches = self._branches(old, self.old_root)
        new_branches = self._branches(new, self.new_root)
        if not old_branches:
            return
        if not new_branches:
            return
        old_kinds = {self._kind(b) for b in old_branches}
        for nb in new_branches:
            if self._kind(nb) not in old_kinds and not self._kind(nb).startswith("object"):
                self._add(path, "type_widened", f"{self._kind(nb)} now accepted", breaking=False)
        new_any = [b for b in new_branches if self._kind(b) == "any" and not b.get("enum") and "const" not in b]
        for ob in old_branches:
            match = self._match(ob, new_branches)
            if match is None:
                if new_any:
                    continue
                self._add(path, "type_narrowed", f"{self._kind(ob)} no longer accepted")
                continue
            pair = (str(ob.get(_REF, "")), str(match.get(_REF, "")))
            if pair != ("", "") and pair in self._active:
                continue
            self._active.add(pair)
            try:
                self._compare_node(ob, match, path)
            finally:
                self._active.discard(pair)

    def _match(self, ob: Mapping[str, Any], new_branches: list[Mapping[str, Any]]) -> Mapping[str, Any] | None:
        kind = self._kind(ob)
        same = [b for b in new_branches if self._kind(b) == kind]
        if same:
            return same[0]
        if kind.startswith("object:"):
            objects = [b for b in new_branches if self._kind(b).startswith("object")]
            if len(objects) == 1:
                return objects[0]
        if kind == "object":
            objects = [b for b in new_branches if self._kind(b).startswith("object")]
            if len(objects) == 1:
                return objects[0]
        if kind == "integer":
            numbers = [b for b in new_branches if self._kind(b) == "number"]
            if numbers:
                return numbers[0]
        return None

    def _compare_node(self, old: Mapping[str, Any], new: Mapping[str, Any], path: str) -> None:
        self._compare_enum_const(old, new, path)
        self._compare_bounds(old, new, path)
        for key in ("pattern", "format"):
            if new.get(key) is not None and new.get(key) != old.get(key):
                self._add(path, f"{key}_changed", f"{key} {old.get(key)!r} -> {new.get(key)!r}")
            elif old.get(key) is not None and new.get(key) is None:
                self._add(path, f"{key}_removed", f"{key} {old.get(key)!r} dropped", breaking=False)
        if "items" in old or "items" in new:
            self.compare(old.get("items", {}), new.get("items", {}), f"{path}[]")
        if self._kind(old).startswith("object") or "properties" in old:
            self._compare_object(old, new, path)

    def _compare_enum_const(self, old: Mapping[str, Any], new: Mapping[str, Any], path: str) -> None:
        old_values = _values(old)
        new_values = _values(new)
        if new_values is None:
            return
        if old_values is None:
            self._add(path, "enum_added", "values are now restricted to a fixed set")
            return
        for removed in sorted((v for v in old_values if v not in new_values), key=repr):
            kind = "const_changed" if "const" in old else "enum_value_removed"
            self._add(path, kind, f"value {removed!r} no longer accepted")
        for added in sorted((v for v in new_values if v not in old_values), key=repr):
            self._add(path, "enum_value_added", f"value {added!r} now accepted", breaking=False)

    def _compare_bounds(self, old: Mapping[str, Any], new: Mapping[str, Any], path: str) -> None:
        for key, kind, tighter in _BOUNDS:
            if key not in new:
                if key in old:
                    self._add(path, "bound_relaxed", f"{key} {old[key]!r} dropped", breaking=False)
                continue
            if key not in old:
                self._add(path, kind, f"{key} {new[key]!r} added")
            elif tighter(new[key], old[key]):
                self._add(path, kind, f"{key} {old[key]!r} -> {new[key]!r}")
            elif new[key] != old[key]:
                self._add(path, "bound_relaxed", f"{key} {old[key]!r} -> {new[key]!r}", breaking=False)
        if new.get("uniqueItems") and not old.get("uniqueItems"):
            self._add(path, "unique_items_added", "items must now be unique")
        if "multipleOf" in new and new.get("multipleOf") != old.get("multipleOf"):
            self._add(path, "multiple_of_changed", f"multipleOf {old.get('multipleOf')!r} -> {new['multipleOf']!r}")

    def _compare_object(self, old: Mapping[str, Any], new: Mapping[str, Any], path: str) -> None:
        old_props: Mapping[str, Any] = old.get("properties", {})
        new_props: Mapping[str, Any] = new.get("properties", {})
        old_required = set(old.get("required", []))
        new_required = set(new.get("required", []))
        prefix = "" if path == "$" else f"{path}."
        for name in sorted(old_props):
            if name not in new_props:
                self._add(f"{prefix}{name}", "field_removed", "field no longer exists")
        for name in sorted(new_required - old_required):
            if name in old_props:
                self._add(f"{prefix}{name}", "field_required", "optional field became required")
            else:
                self._add(f"{prefix}{name}", "field_added_required", "new field is required")
        for name in sorted((old_required & set(new_props)) - new_required):
            self._add(f"{prefix}{name}", "field_optional", "required field became optional")
        if old.get("additionalProperties", True) is not False and new.get("additionalProperties", True) is False:
            self._add(path, "additional_properties_refused", "unknown properties are now refused")
        for name in sorted(set(old_props) & set(new_props)):
            self.compare(old_props[name], new_props[name], f"{prefix}{name}")
        old_extra = old.get("additionalProperties")
        new_extra = new.get("additionalProperties")
        if isinstance(old_extra, Mapping) and isinstance(new_extra, Mapping):
            self.compare(old_extra, new_extra, f"{prefix}*")


def _values(node: Mapping[str, Any]) -> list[Any] | None:
    if "const" in node:
        return [node["const"]]
    if "enum" in node:
        return list(node["enum"])
    return None


def _greater(a: Any, b: Any) -> bool:
    return bool(a > b)


def _less(a: Any, b: Any) -> bool:
    return bool(a < b)


# (keyword, incompatibility kind, "new value is tighter than old value")
_BOUNDS: tuple[tuple[str, str, Any], ...] = (
    ("maxLength", "max_length_decreased", _less),
    ("minLength", "min_length_increased", _greater),
    ("maxItems", "max_items_decreased", _less),
    ("minItems", "min_items_increased", _greater),
    ("maximum", "maximum_decreased", _less),
    ("exclusiveMaximum", "maximum_decreased", _less),
    ("minimum", "minimum_increased", _greater),
    ("exclusiveMinimum", "minimum_increased", _greater),
    ("maxProperties", "max_properties_decreased", _less),
    ("minProperties", "min_properties_increased", _greater),
)


def iter_kinds() -> Iterator[str]:
    """Every incompatibility kind the checker can report (for docs and tests)."""
    yield from ("topic_changed", "key_field_changed", "event_removed", "type_narrowed", "enum_added")
    yield from ("enum_value_removed", "const_changed", "pattern_changed", "format_changed")
    yield from ("field_removed", "field_required", "field_added_required", "field_optional")
    yield from ("additional_properties_refused", "unique_items_added", "multiple_of_changed")
    yield from ("type_widened", "enum_value_added", "bound_relaxed", "pattern_removed", "format_removed")
    yield from sorted({kind for _, kind, _ in _BOUNDS})
