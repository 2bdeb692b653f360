"""What end-to-end tests need besides the stack: visits built as an integration team sends them,
and a timeline of the domain topics read as a downstream subscriber reads them."""

from __future__ import annotations

import asyncio
import copy
import json
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from pydantic import BaseModel

from schemas import examples as ex
from schemas.registry import validate
from schemas.topics import domain_topics
from services.chassis.settings import Settings
from tests.support import intake

Rcm = Callable[..., subprocess.CompletedProcess[str]]
DOMAIN_TOPICS = domain_topics()
PAYERS = {"60054": ("Aetna", "CI"), "94036": ("Blue Shield of California", "BL"),
          "01182": ("Medicare Part B (Noridian JF)", "MB"), "610442": ("Medi-Cal", "MC")}


def money(value: str | Decimal) -> Decimal:
    return Decimal(value).quantize(Decimal("0.01"))


def coverage(rank: int, payer_id: str, member_id: str, *, authorization: str | None = None) -> dict[str, Any]:
    name, filing = PAYERS[payer_id]
    return {"rank": rank, "payer_id": payer_id, "payer_name": name, "member_id": member_id,
            "group_number": "GRP-0042" if filing in ("CI", "BL") else None, "relationship_to_subscriber": "18",
            "subscriber": None, "claim_filing_indicator": filing,
            "prior_authorization_numbers": [authorization] if authorization else []}


@dataclass(frozen=True)
class Line:
    code: str | None
    """The HCPCS/CPT code; None on a facility line billed by revenue code alone (or by its
    chargemaster item)."""
    price: str
    modifiers: tuple[str, ...] = ()
    units: int = 1
    revenue_code: str | None = None
    claim_type: str | None = None
    """professional or institutional: required when the visit bills both claims."""
    chargemaster_code: str | None = None
    """Priced and coded by the chargemaster instead (code, revenue code and price from the item)."""
    day: int = 0
    """Days after the visit's first day (a hospital stay's later days)."""


@dataclass(frozen=True)
class Visit:
    """One patient's encounter: its own account, guarantor email and coverages, so no two
    visits share a balance, a statement or a payer's member accumulators."""

    name: str
    coverages: tuple[dict[str, Any], ...]
    lines: tuple[Line, ...]
    diagnoses: tuple[str, ...] = ("I10",)
    place_of_service: str = "11"
    facility: dict[str, Any] | None = None
    """Where the care was given when not at the practice (2310C): a facility POS needs it."""
    bills: str = "professional"
    institutional: dict[str, Any] | None = None
    """The facility claim's data (schemas/examples.py INSTITUTIONAL's shape) with its dates as day
    offsets from the visit's first day (`statement_through: 3`), the stay's too (`discharge_day`)."""

    @property
    def source_encounter_id(self) -> str:
        return f"e2e-{self.name}"

    @property
    def email(self) -> str:
        return f"{self.name}@example.org"

    def charge_id(self, n: int) -> str:
        return f"{self.name}-{n}"

    def encounter(self, kind: str = "EncounterRegistered", *, service_date: date | None = None,
                  **overrides: Any) -> BaseModel:
        patient = copy.deepcopy(ex.PATIENT) | {"email": self.email, "source_account_number": f"HAR-{self.name}"}
        guarantor = copy.deepcopy(ex.GUARANTOR) | {"email": self.email}
        fields = {"patient": patient, "guarantor": guarantor, "coverages": list(self.coverages),
                  "diagnoses": list(self.diagnoses), "place_of_service": self.place_of_service,
                  "facility": self.facility} | self._stay(service_date) | overrides
        return intake.encounter(self.source_encounter_id, kind=kind, **fields)

    def _stay(self, first_day: date | None) -> dict[str, Any]:
        """bills, institutional and the admission and discharge dates, dated from the first day."""
        if self.institutional is None:
            return {}
        assert first_day is not None, "a facility visit's dates need its first day"
        days = dict(self.institutional)
        on = {k: (first_day + timedelta(days=days.pop(k))).isoformat()
              for k in ("statement_from", "statement_through", "admission_day", "discharge_day") if k in days}
        stay = {"bills": self.bills, "institutional": days | {
            "statement_from": on["statement_from"], "statement_through": on["statement_through"]}}
        return stay | {"admission_date": on.get("admission_day"), "discharge_date": on.get("discharge_day")}

    def charge_fields(self, service_date: date, line: Line, **overrides: Any) -> dict[str, Any]:
        coded = ({"chargemaster_code": line.chargemaster_code, "procedure_code": None, "modifiers": [],
                  "unit_price": None, "amount": None} if line.chargemaster_code else
                 {"procedure_code": line.code, "modifiers": list(line.modifiers), "unit_price": line.price,
                  "amount": str(money(line.price) * line.units), "revenue_code": line.revenue_code})
        return {"service_date": (service_date + timedelta(days=line.day)).isoformat(), "units": str(line.units),
                "claim_type": line.claim_type, "diagnosis_pointers": [1]} | coded | overrides

    def events(self, service_date: date) -> list[BaseModel]:
        charges = [intake.charge(self.source_encounter_id, self.charge_id(n), **self.charge_fields(service_date, line))
                   for n, line in enumerate(self.lines, start=1)]
        last_day = service_date + timedelta(days=max(line.day for line in self.lines))
        closed_at = datetime.combine(last_day, datetime.min.time(), tzinfo=UTC) + timedelta(hours=18)
        close = validate("rcm.intake.EncounterClosed.v1", json.dumps({
            "source_system": intake.SYSTEM, "source_encounter_id": self.source_encounter_id,
            "closed_at": closed_at.isoformat(), "expected_source_charge_ids": [
                self.charge_id(n) for n in range(1, len(self.lines) + 1)]}))
        return [self.encounter(service_date=service_date), *charges, close]


@dataclass(frozen=True)
class Seen:
    name: str  # the event's short name, e.g. ClaimSubmitted
    data: dict[str, Any]


@dataclass
class Timeline:
    """Every event on the domain topics since the platform started, in arrival order per partition."""

    settings: Settings
    events: list[Seen] = field(default_factory=list)
    _consumer: AIOKafkaConsumer | None = None

    async def start(self) -> None:
        self._consumer = AIOKafkaConsumer(bootstrap_servers=self.settings.bootstrap, enable_auto_commit=False)
        await self._consumer.start()
        await self._consumer._client.force_metadata_update()
        tps = [TopicPartition(self.settings.topic(t), p) for t in DOMAIN_TOPICS
               for p in sorted(self._consumer.partitions_for_topic(self.settings.topic(t)) or ())]
        self._consumer.assign(tps)
        await self._consumer.seek_to_beginning(*tps)

    async def stop(self) -> None:
        if self._consumer is not None:
            await self._consumer.stop()

    async def refresh(self) -> None:
        assert self._consumer is not None
        for records in (await self._consumer.getmany(timeout_ms=300)).values():
            for record in records:
                kind = dict(record.headers or ()).get("ce_type", b"").decode().split(".")
                if len(kind) == 4 and record.value:
                    self.events.append(Seen(kind[2], json.loads(record.value)))

    def of(self, name: str, **match: Any) -> list[dict[str, Any]]:
        """Payloads of ``name`` whose fields equal ``match`` (a nested field as ``a__b``)."""
        def field_of(data: dict[str, Any], path: str) -> Any:
            for part in path.split("__"):
                data = data.get(part) if isinstance(data, dict) else None  # type: ignore[assignment]
            return data
        return [e.data for e in self.events if e.name == name
                and all(field_of(e.data, k) == v for k, v in match.items())]

    async def until(self, check: Callable[[], Any], what: str, timeout_s: float = 120) -> Any:
        """Wait until ``check()`` returns something truthy, and return it."""
        deadline = time.monotonic() + timeout_s
        while True:
            await self.refresh()
            got = check()
            if got:
                return got
            if time.monotonic() > deadline:
                seen = sorted({e.name for e in self.events})
                raise AssertionError(f"timed out after {timeout_s:.0f} s waiting for {what}; event types seen: {seen}")
            await asyncio.sleep(0.2)

    def encounter_id(self, visit: Visit) -> str | None:
        posted = self.of("ChargePosted", source_encounter_id=visit.source_encounter_id)
        return posted[0]["encounter_id"] if posted else None


def adjustments(lines: list[dict[str, Any]], group: str, reason: str | None = None) -> Decimal:
    """The sum of a remittance's line adjustments of a group (and reason)."""
    return sum((money(a["amount"]) for line in lines for a in line["adjustments"]
                if a["group"] == group and reason in (None, a["reason_code"])), Decimal("0.00"))
