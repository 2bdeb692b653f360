"""The shipped CARC/RARC table (data/carc_rarc_2026.csv): how each code posts and what to do."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Literal, cast

from schemas.remits import DenialCategory, RecommendedAction

Treatment = Literal["contractual", "denial", "patient", "other"]
TABLE = Path(__file__).with_name("data") / "carc_rarc_2026.csv"


@dataclass(frozen=True)
class Code:
    code: str
    kind: Literal["carc", "rarc"]
    treatment: Treatment | None
    category: DenialCategory
    action: RecommendedAction
    description: str
    effective: str


@cache
def table() -> dict[tuple[str, str], Code]:
    rows = [line for line in TABLE.read_text(encoding="utf-8").splitlines() if line and not line.startswith("#")]
    out: dict[tuple[str, str], Code] = {}
    for row in csv.DictReader(rows):
        kind = cast(Literal["carc", "rarc"], row["kind"])
        out[(kind, row["code"])] = Code(
            code=row["code"], kind=kind, treatment=cast(Treatment, row["treatment"]) if row["treatment"] else None,
            category=cast(DenialCategory, row["category"]), action=cast(RecommendedAction, row["recommended_action"]),
            description=row["description"], effective=row["effective"],
        )
    return out


def carc(code: str) -> Code | None:
    return table().get(("carc", code))


def rarc(code: str) -> Code | None:
    return table().get(("rarc", code))


def treatment(group: str, reason: str) -> Treatment:
    """How a CAS triplet posts. PR is always the patient's; for CO/OA/PI the table decides and an
    unknown code is a denial (money kept open to work, never silently written off)."""
    if group == "PR":
        return "patient"
    known = carc(reason)
    if known is None or known.treatment in (None, "patient"):
        return "denial"
    return known.treatment


def denial_advice(group: str, reason: str, remarks: list[str]) -> tuple[DenialCategory, RecommendedAction]:
    """What a denial is about and what to do: the CARC's row, else the first known RARC's. The
    group code decides who is liable, so a CO denial is never billed to the patient (the
    provider writes it off unless it is corrected or appealed) and an OA/PI one is reviewed first."""
    category, action = _advice(reason, remarks)
    if action == "bill_patient" and group != "PR":
        action = "write_off" if group == "CO" else "review"
    return category, action


def _advice(reason: str, remarks: list[str]) -> tuple[DenialCategory, RecommendedAction]:
    known = carc(reason)
    if known is not None and known.treatment == "denial":
        return known.category, known.action
    for remark in remarks:
        r = rarc(remark)
        if r is not None:
            return r.category, r.action
    return "other", "review"
