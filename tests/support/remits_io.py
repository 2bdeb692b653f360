"""What the remits integration tests share: the ClaimSubmitted a remittance matches, 835
envelopes, and reading the service's tables and topics."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import asyncpg

from edi.x12 import EnvelopeParams
from services.chassis.settings import Settings
from services.remits import store
from services.remits.domain.cards import Card
from services.remits.service import books
from tests.support.kafka_io import eventually, read_topic
from tests.support.testsvc import example

NOW = datetime(2026, 4, 8, 15, 0, tzinfo=UTC)
NEXT_PAYER = {"payer_id": "610442", "payer_name": "Medi-Cal", "coverage_rank": 2}


def params(icn: int) -> EnvelopeParams:
    return EnvelopeParams(sender_id="ACME", receiver_id="SUNRISE", interchange_control_number=icn,
                          group_control_number=icn, created=datetime(2026, 4, 8, 9, 0))


def submitted(sub: str, key: str, account: str, *, rank: int = 1, next_payer: bool = False,
              claim_id: str | None = None) -> Any:
    """ClaimSubmitted `sub` (CLM01) for an office visit (99213 150.00) and a strep test (87880 35.00);
    `key` names its claim, family, encounter and charges."""
    lines = [{"line_number": n, "line_control_number": f"{sub}-{n}", "charge_id": f"chg_{key}{suffix}",
              "procedure_code": code, "modifiers": [], "description": description, "revenue_code": None,
              "service_date": "2026-03-02", "service_end_date": None, "units": "1", "charge": charge,
              "diagnosis_pointers": [1], "expected_allowed": allowed}
             for n, suffix, code, description, charge, allowed in ((1, "a", "99213", "Office visit", "150.00", "98.00"),
                                                                   (2, "b", "87880", "Strep test", "35.00", "16.50"))]
    return example("rcm.claims.ClaimSubmitted.v1", claim_id=claim_id or f"clm_{key}", claim_family_id=f"fam_{key}",
                   encounter_id=f"enc_{key}", submission_id=sub, patient_account_id=account, coverage_rank=rank,
                   lines=lines, next_payer=NEXT_PAYER if next_payer else None)


async def cards(platform: Settings, encounter_id: str | None = None) -> dict[str, Card]:
    """The account cards (of one encounter, or all), by encounter id."""
    conn = await asyncpg.connect(platform.database_url("remits"))
    try:
        await store.init_codecs(conn)
        return {c.encounter_id: c for c in await books.cards(conn, encounter_id)}
    finally:
        await conn.close()


async def book_ledger(platform: Settings) -> dict[str, dict[tuple[str, int | None], Decimal]]:
    """Per encounter, what the ledger holds in each book account by payer rank."""
    conn = await asyncpg.connect(platform.database_url("remits"))
    try:
        return await store.audit_book_ledger(conn)
    finally:
        await conn.close()


async def sql(platform: Settings, query: str, *args: object) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(platform.database_url("remits"))
    try:
        return list(await conn.fetch(query, *args))
    finally:
        await conn.close()


async def wait_sql(platform: Settings, query: str, expected: object, what: str) -> None:
    async def check() -> bool:
        return bool((await sql(platform, query))[0][0] == expected)

    await eventually(check, timeout_s=60, what=what)


async def events(platform: Settings, topic: str) -> list[tuple[str, dict[str, Any]]]:
    return [(dict(h)["ce_type"].decode().split(".")[2], json.loads(v)) for _, v, h in await read_topic(platform, topic)]


async def wait_events(platform: Settings, topic: str, predicate: Callable[[list[str]], bool],
                      ) -> list[tuple[str, dict[str, Any]]]:
    """The topic's events as read by the first read that satisfies the predicate (one read, not two)."""
    got: list[tuple[str, dict[str, Any]]] = []

    async def check() -> bool:
        nonlocal got
        got = await events(platform, topic)
        return predicate([n for n, _ in got])

    await eventually(check, timeout_s=60, what=f"events on {topic}")
    return got
