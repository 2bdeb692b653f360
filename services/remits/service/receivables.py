"""A/R aging: what payers and patients owe, in age buckets, as it stood at the end of a day. One
computation for the aging report (`rcm remits report aging`), the KPIs' receivables and the
A/R gauges (services.remits.background)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import asyncpg

from services.remits import store
from services.remits.domain.balances import BUCKETS, Movement, bucket, open_since


def end_of(day: date) -> datetime:
    """The end of a UTC calendar day (exclusive): what was known by the end of that day."""
    return datetime.combine(day + timedelta(days=1), datetime.min.time(), UTC)


def _empty() -> dict[str, Decimal]:
    return {b: Decimal("0.00") for b in BUCKETS}


@dataclass(frozen=True)
class Aging:
    as_of: date
    payers: dict[str, dict[str, Decimal]]
    """Per payer (its name), what it owes by bucket (BUCKETS)."""
    patients: dict[str, Decimal]
    """What patients owe by bucket."""

    def insurance(self) -> dict[str, Decimal]:
        """What all payers owe together, by bucket."""
        total = _empty()
        for row in self.payers.values():
            for b, amount in row.items():
                total[b] += amount
        return total


async def aging(conn: asyncpg.Connection, today: date) -> Aging:
    payers: dict[str, dict[str, Decimal]] = {}
    cutoff = end_of(today)
    rows = await store.fetch(conn, "payer_ar", cutoff)
    names = {r["payer_id"]: r["payer"] for r in rows}
    # Per encounter, payer and account (owed, or open as a denial), aged from when it last opened.
    for (_, payer_id, _), (amount, since) in open_since(
            Movement((r["encounter_id"], r["payer_id"] or "", r["account"]), r["amount"], r["entered_at"])
            for r in rows).items():
        row = payers.setdefault(names.get(payer_id or None) or payer_id or "unknown payer", _empty())
        row[bucket((today - since.astimezone(UTC).date()).days)] += amount
    patient = _empty()
    for r in await store.fetch(conn, "patient_ar", cutoff):
        if r["amount"] > 0:
            patient[bucket((today - r["since"].date()).days)] += r["amount"]
    return Aging(today, dict(sorted(payers.items())), patient)
