"""Operator actions (CLI and HTTP share them): release, correct, void, show, held, payer loads.

Each runs in the caller's transaction with the service's own role and records an audit row.
"""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path
from typing import Any

import asyncpg

from services.chassis import audit
from services.claims import store
from services.claims.domain.payers import FeeRow, PayerConfig, PayerFileError, parse_fee_schedule, parse_payers
from services.claims.service import corrections
from services.claims.service.transitions import Refused


def operator_id(actor: str) -> str:
    cleaned = re.sub(r"[^A-Za-z0-9_.-]", "_", actor).lstrip("_.-")[:64]
    return cleaned or "operator"


def claim_json(c: store.ClaimRow) -> dict[str, Any]:
    return {
        "claim_id": c.claim_id, "claim_family_id": c.claim_family_id, "encounter_id": c.encounter_id,
        "payer_id": c.payer_id, "payer_name": c.payer_name, "coverage_rank": c.coverage_rank, "origin": c.origin,
        "origin_claim_id": c.origin_claim_id, "frequency": c.frequency, "state": c.state,
        "submission_id": c.submission_id, "payer_claim_control_number": c.payer_claim_control_number,
        "total_charge": str(c.total_charge), "total_paid": str(c.total_paid), "edits": c.edits,
        "encounter_revision": c.encounter_revision, "follow_up_on": c.follow_up_on and c.follow_up_on.isoformat(),
        "pending_revision": c.pending_doc is not None, "updated_at": c.updated_at.isoformat(),
    }


async def _claim(conn: asyncpg.Connection, ident: str) -> store.ClaimRow:
    claim_id = await store.find_claim_id(conn, ident)
    claim = await store.get_claim(conn, claim_id) if claim_id else None
    if claim is None:
        raise LookupError("no claim, claim family or submission has that id")
    return claim


async def show(conn: asyncpg.Connection, ident: str) -> dict[str, Any]:
    claim = await _claim(conn, ident)
    members = await store.family(conn, claim.claim_family_id)
    subs = await store.submissions_of(conn, [c.claim_id for c in members])
    return {
        "claim_family_id": claim.claim_family_id,
        "claims": [claim_json(c) for c in members],
        "submissions": [{k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in s.items()} for s in subs],
        "history": [{**h, "at": h["at"].isoformat()} for h in await store.history(conn, claim.claim_family_id)],
    }


async def held(conn: asyncpg.Connection) -> list[dict[str, Any]]:
    return [claim_json(c) for c in await store.held_claims(conn)]


async def release(conn: asyncpg.Connection, ident: str, actor: str, reason: str, now: datetime) -> dict[str, Any]:
    claim = await _claim(conn, ident)
    claim = await corrections.release(conn, claim.claim_id, operator_id(actor), reason, now)
    await audit.record(conn, actor=actor, action="claims.release", subject=claim.claim_id, reason=reason,
                       details={"state": claim.state})
    return claim_json(claim)


async def correct(conn: asyncpg.Connection, ident: str, actor: str, reason: str, now: datetime) -> dict[str, Any]:
    claim = await _claim(conn, ident)
    replacement = await corrections.correct(conn, claim, reason, operator_id(actor), now)
    await audit.record(conn, actor=actor, action="claims.correct", subject=claim.claim_id, reason=reason,
                       details={"replacement_claim_id": replacement.claim_id})
    return claim_json(replacement)


async def void(conn: asyncpg.Connection, ident: str, actor: str, reason: str, now: datetime) -> dict[str, Any]:
    claim = await _claim(conn, ident)
    voiding = await corrections.void(conn, claim, reason, operator_id(actor), now)
    await audit.record(conn, actor=actor, action="claims.void", subject=claim.claim_id, reason=reason,
                       details={"void_claim_id": voiding.claim_id})
    return claim_json(voiding)


def read_payer_master(file: Path) -> tuple[list[PayerConfig], dict[str, list[FeeRow]]]:
    """The payer master and the fee schedule files it names (relative to its folder); raises
    PayerFileError listing every problem."""
    payers = parse_payers(file.read_text(encoding="utf-8"))
    fees: dict[str, list[FeeRow]] = {}
    errors: list[str] = []
    for p in payers:
        if p.fee_schedule is None:
            continue
        path = file.parent / p.fee_schedule
        try:
            fees[p.payer_id] = parse_fee_schedule(path.read_text(encoding="utf-8"))
        except OSError:
            errors.append(f"{p.payer_id}: fee schedule {p.fee_schedule} cannot be read")
        except PayerFileError as exc:
            errors += [f"{p.fee_schedule}: {e}" for e in exc.errors]
    if errors:
        raise PayerFileError(errors)
    return payers, fees


async def load_payers(conn: asyncpg.Connection, payers: list[PayerConfig], fees: dict[str, list[FeeRow]],
                      source: str, actor: str, reason: str, now: datetime) -> int:
    count = await store.upsert_payers(conn, payers, now)
    for payer_id, rows in fees.items():
        await store.replace_fee_schedule(conn, payer_id, rows)
    await audit.record(conn, actor=actor, action="payers.load", subject=source, reason=reason,
                       details={"payers": count, "fee_schedules": len(fees)})
    return count


async def load_fee_schedule(conn: asyncpg.Connection, payer_id: str, rows: list[FeeRow], source: str, actor: str,
                            reason: str) -> int:
    if await store.get_payer(conn, payer_id) is None:
        raise LookupError("the payer is not in the payer master: run `rcm payers load` first")
    count = await store.replace_fee_schedule(conn, payer_id, rows)
    await audit.record(conn, actor=actor, action="feeschedule.load", subject=payer_id, reason=reason,
                       details={"file": source, "rows": count})
    return count


__all__ = ["Refused", "correct", "held", "load_fee_schedule", "load_payers", "read_payer_master", "release", "show",
           "void"]
