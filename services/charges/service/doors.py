"""What the HTTP and HL7 doors share: turn validated intake events into intake-topic records.

A door never applies rules itself: it validates the contract, then writes the intake events to
the charges outbox (one transaction for everything one request or message carries), and the
relay publishes them to the intake topics. The Kafka consumer then applies them exactly like
events an integration team published directly, so there is one code path for the rules.
"""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

import asyncpg
from pydantic import BaseModel

from schemas import intake
from schemas.registry import event_type_of
from services.charges import store
from services.chassis import outbox
from services.chassis.clock import Clock

DoorEvent = (intake.EncounterRegistered | intake.EncounterUpdated | intake.EncounterClosed | intake.ChargeSubmitted
             | intake.ChargeCorrected | intake.ChargeVoided)
"""What the HTTP and HL7 doors take: intake events that name their encounter (source_system +
source_encounter_id)."""


@dataclass(frozen=True)
class Accepted:
    event_id: UUID
    event_type: str
    encounter_id: str


async def accept(conn: asyncpg.Connection, clock: Clock, events: list[BaseModel]) -> list[Accepted]:
    """Queue intake events for the consumer; call inside the caller's transaction."""
    accepted: list[Accepted] = []
    for event in events:
        if not isinstance(event, DoorEvent):
            raise TypeError(f"{type(event).__name__} is not an intake event the doors take")
        encounter_id = await store.encounter_id_for(conn, event.source_system, event.source_encounter_id)
        event_id = await outbox.enqueue(conn, event, occurred_at=clock.now())
        accepted.append(Accepted(event_id, event_type_of(event), encounter_id))
    return accepted
