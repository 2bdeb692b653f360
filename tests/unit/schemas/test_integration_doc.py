"""docs/integration.md stays true to the contracts: its examples validate, its code compiles."""

from __future__ import annotations

import json
import re
from pathlib import Path

from schemas.dlq import DLQ_HEADERS
from schemas.envelope import HEADER_NAMES
from schemas.registry import INTAKE_TOPICS, REGISTRY, ContractError, validate

DOC = Path(__file__).resolve().parents[3] / "docs" / "integration.md"


def blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", DOC.read_text(encoding="utf-8"), re.DOTALL)


def test_publish_file_examples_validate() -> None:
    seen: set[str] = set()
    for text in blocks("json"):
        obj = json.loads(text)
        if "type" in obj:
            validate(obj["type"], obj["data"])
            seen.add(obj["type"])
            if obj["type"] == "rcm.intake.EncounterRegistered.v1":
                # The guide says an update carries the same data: hold it to that.
                validate("rcm.intake.EncounterUpdated.v1", obj["data"])
                seen.add("rcm.intake.EncounterUpdated.v1")
    intake = {t for t, s in REGISTRY.items() if s.topic in INTAKE_TOPICS}
    assert seen == intake, f"intake events without an example in the guide: {intake - seen}"


def test_rejection_examples_validate() -> None:
    rejections = [json.loads(t) for t in blocks("json") if "type" not in json.loads(t)]
    assert len(rejections) == 2
    for obj in rejections:
        matches = 0
        for event_type in ("rcm.charges.EncounterRejected.v1", "rcm.charges.ChargeRejected.v1"):
            try:
                validate(event_type, obj)
                matches += 1
            except ContractError:
                pass
        assert matches == 1


def test_python_examples_compile() -> None:
    python = blocks("python")
    assert python
    for source in python:
        compile(source, str(DOC), "exec")


def test_headers_documented() -> None:
    text = DOC.read_text(encoding="utf-8")
    for header in (*HEADER_NAMES, *DLQ_HEADERS.values()):
        assert f"`{header}`" in text or header in text
    kcat = blocks("sh")[-1]
    for header in HEADER_NAMES:
        if header != "traceparent":
            assert f"-H {header}=" in kcat
