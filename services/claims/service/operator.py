"""Operator actions (CLI and HTTP share them): release, override, correct, void, show, held, payer and
code-set loads.

Each runs in the caller's transaction with the service's own role and records an audit row.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import asdict
from datetime import date, datetime
from pathlib import Path
from typing import Any, Literal

from services.claims.domain.claim import Claim
from services.claims.domain.codesets import Mue, PtpEdit
from services.claims.domain.payers import FeeRow, PayerConfig, PayerFileError, parse_fee_schedule, parse_payers
from services.claims.service import claim_status, corrections, eligibility
from services.claims.service.transitions import Refused
from services.claims.store import ClaimsStore, StatusRequestRow


def operator_id(actor: str) -> str:
    cleaned = re.sub(r"[^A-Za-z0-9_.-]", "_", actor).lstrip("_.-")[:64]
    return cleaned or "operator"


def claim_json(c: Claim) -> dict[str, Any]:
    return {
        "claim_id": c.claim_id, "claim_family_id": c.claim_family_id, "encounter_id": c.encounter_id,
        "payer_id": c.payer_id, "payer_name": c.payer_name, "coverage_rank": c.coverage_rank, "origin": c.origin,
        "origin_claim_id": c.origin_claim_id, "frequency": c.frequency, "state": c.state,
        "submission_id": c.submission_id, "payer_claim_control_number": c.payer_claim_control_number,
        "total_charge": str(c.total_charge), "total_paid": str(c.total_paid), "edits": [asdict(e) for e in c.edits],
        "encounter_revision": c.encounter_revision, "follow_up_on": c.follow_up_on and c.follow_up_on.isoformat(),
        "pending_revision": c.pending_draft is not None, "updated_at": c.updated_at.isoformat(),
    }


def _json(row: dict[str, Any]) -> dict[str, Any]:
    return {k: (v.isoformat() if isinstance(v, datetime | date) else v) for k, v in row.items()}


def status_request_json(r: StatusRequestRow) -> dict[str, Any]:
    return _json(asdict(r))


async def _claim(db: ClaimsStore, ident: str) -> Claim:
    claim_id = await db.find_claim_id(ident)
    claim = await db.get_claim(claim_id) if claim_id else None
    if claim is None:
        raise LookupError("no claim, claim family or submission has that id")
    return claim


async def show(db: ClaimsStore, ident: str) -> dict[str, Any]:
    claim = await _claim(db, ident)
    members = await db.family(claim.claim_family_id)
    subs = await db.submissions_of([c.claim_id for c in members])
    return {
        "claim_family_id": claim.claim_family_id,
        "claims": [claim_json(c) for c in members],
        "submissions": [_json(asdict(s)) for s in subs],
        "history": [_json(asdict(h)) for h in await db.history(claim.claim_family_id)],
        "status_requests": [status_request_json(r) for r in await db.status_requests_of([c.claim_id for c in members])],
        "eligibility": [eligibility.check_json(c) for c in await db.checks_of_encounter(claim.encounter_id)],
    }


async def ask_status(db: ClaimsStore, ident: str, actor: str, now: datetime) -> dict[str, Any]:
    """Queue a 276 about the claim now (or name the one already waiting for its 277); audited."""
    claim = await _claim(db, ident)
    request = await claim_status.ask_now(db, claim, now)
    await db.audit(actor=actor, action="claims.status", subject=claim.claim_id, reason="claim status asked on demand",
                   details={"request_id": request.request_id})
    return status_request_json(request)


async def status_request(db: ClaimsStore, request_id: str) -> dict[str, Any] | None:
    found = await db.status_request(request_id)
    return None if found is None else status_request_json(found)


async def held(db: ClaimsStore) -> list[dict[str, Any]]:
    return [claim_json(c) for c in await db.held_claims()]


async def release(db: ClaimsStore, ident: str, actor: str, reason: str, now: datetime) -> dict[str, Any]:
    claim = await _claim(db, ident)
    claim = await corrections.release(db, claim.claim_id, operator_id(actor), reason, now)
    await db.audit(actor=actor, action="claims.release", subject=claim.claim_id, reason=reason,
                       details={"state": claim.state})
    return claim_json(claim)


async def override(db: ClaimsStore, ident: str, edit_id: str, actor: str, reason: str,
                   now: datetime) -> dict[str, Any]:
    """Waive one edit on one held claim (audited), then scrub it again."""
    claim = await _claim(db, ident)
    claim = await corrections.waive(db, claim.claim_id, edit_id.upper(), operator_id(actor), reason, now)
    await db.audit(actor=actor, action="claims.override", subject=claim.claim_id, reason=reason,
                   details={"edit_id": edit_id.upper(), "state": claim.state})
    return claim_json(claim)


async def correct(db: ClaimsStore, ident: str, actor: str, reason: str, now: datetime) -> dict[str, Any]:
    claim = await _claim(db, ident)
    replacement = await corrections.correct(db, claim, reason, operator_id(actor), now)
    await db.audit(actor=actor, action="claims.correct", subject=claim.claim_id, reason=reason,
                       details={"replacement_claim_id": replacement.claim_id})
    return claim_json(replacement)


async def void(db: ClaimsStore, ident: str, actor: str, reason: str, now: datetime) -> dict[str, Any]:
    claim = await _claim(db, ident)
    voiding = await corrections.void(db, claim, reason, operator_id(actor), now)
    await db.audit(actor=actor, action="claims.void", subject=claim.claim_id, reason=reason,
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


async def load_payers(db: ClaimsStore, payers: list[PayerConfig], fees: dict[str, list[FeeRow]],
                      source: str, actor: str, reason: str, now: datetime) -> int:
    count = await db.upsert_payers(payers, now)
    for payer_id, rows in fees.items():
        await db.replace_fee_schedule(payer_id, rows)
    await db.audit(actor=actor, action="payers.load", subject=source, reason=reason,
                       details={"payers": count, "fee_schedules": len(fees)})
    return count


async def load_code_set(db: ClaimsStore, kind: Literal["ncci", "mue"], quarter: str, source_file: str,
                        rows: Sequence[PtpEdit] | Sequence[Mue], actor: str, reason: str, now: datetime) -> int:
    """A CMS quarterly PTP or MUE file: replaces that file's rows (and the sample) for its quarter."""
    if kind == "ncci":
        count = await db.replace_ptp(quarter, source_file, [r for r in rows if isinstance(r, PtpEdit)], now)
    else:
        count = await db.replace_mue(quarter, source_file, [r for r in rows if isinstance(r, Mue)], now)
    await db.audit(actor=actor, action="codesets.load", subject=f"{kind}:{quarter}", reason=reason,
                   details={"file": source_file, "rows": count})
    return count


async def load_fee_schedule(db: ClaimsStore, payer_id: str, rows: list[FeeRow], source: str, actor: str,
                            reason: str) -> int:
    if await db.get_payer(payer_id) is None:
        raise LookupError("the payer is not in the payer master: run `rcm payers load` first")
    count = await db.replace_fee_schedule(payer_id, rows)
    await db.audit(actor=actor, action="feeschedule.load", subject=payer_id, reason=reason,
                       details={"file": source, "rows": count})
    return count


__all__ = [
    "Refused",
    "ask_status",
    "correct",
    "held",
    "load_code_set",
    "load_fee_schedule",
    "load_payers",
    "override",
    "read_payer_master",
    "release",
    "show",
    "status_request",
    "void",
]
