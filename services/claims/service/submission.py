"""837P batches: every ready claim into one interchange (X12-checked), ClaimSubmitted per claim,
the file written to the clearinghouse after the batch commits."""

from __future__ import annotations

import hashlib
import logging
from dataclasses import asdict
from datetime import datetime, timedelta

import asyncpg

from edi.errors import X12Error
from edi.validate import validate as x12_check
from schemas import claims as ev
from schemas.common import PayerRef
from services.chassis.clearinghouse import Clearinghouse
from services.chassis.logs import ids
from services.claims import store
from services.claims.domain.model import ClaimDraft
from services.claims.domain.scrubber import Finding
from services.claims.domain.x837 import (
    TRANSACTION_SET_CONTROL_NUMBER,
    Submission,
    build_claim,
    file_name,
    line_control_number,
    render_batch,
)
from services.claims.service.scrubbing import failed_edits, reference_number
from services.claims.service.transitions import draft_of, ids_of, move
from services.claims.store import ClaimRow

log = logging.getLogger(__name__)


def _protection(draft: ClaimDraft) -> ev.PatientProtection | None:
    found = draft.patient_protection()
    return None if found is None else ev.PatientProtection(reason=found[0], share_of_cost=found[1])


def _next_payer(draft: ClaimDraft) -> ev.NextPayer | None:
    nxt = draft.next_coverage()
    if nxt is None:
        return None
    return ev.NextPayer(payer_id=nxt.payer_id, payer_name=nxt.payer_name, coverage_rank=nxt.rank)  # type: ignore[arg-type]


async def submit_pending(conn: asyncpg.Connection, now: datetime, usage: str = "T") -> str | None:
    """Batch every queued submission into one 837P interchange, recorded for the clearinghouse;
    returns its file name. The file itself goes out after the commit (`write_interchanges`)."""
    from edi import claim837

    built: list[tuple[ClaimRow, ClaimDraft, claim837.Claim, str | None]] = []
    for submission_id, claim_id in await store.pending_submissions(conn):
        claim = await store.get_claim(conn, claim_id)
        if claim is None or claim.state != "ready" or claim.submission_id != submission_id:
            await store.drop_submission(conn, submission_id)
            continue
        draft = draft_of(claim.doc)
        pccn = await reference_number(conn, claim)
        try:
            x = build_claim(draft, Submission(submission_id, claim.frequency, claim.payer_id, claim.payer_name, pccn))
        except (ValueError, X12Error) as exc:
            await _hold_for_x12(conn, claim, f"the claim cannot be written as an 837P ({type(exc).__name__}); "
                                "check the encounter's names, addresses and ids", now)
            continue
        built.append((claim, draft, x, pccn))
    if not built:
        return None
    number = await store.next_control_number(conn)
    text = render_batch([b[2] for b in built], number, now, usage)
    issues = [i for i in x12_check(text) if i.severity == "error"]
    if issues:
        for claim, *_ in built:
            await _hold_for_x12(conn, claim, "the 837P failed the X12 checks: " + ", ".join(
                sorted({i.code for i in issues}))[:300], now)
        return None
    content = text.encode()
    name = file_name(number)
    icn, gcn = f"{number:09d}", str(number)
    await store.save_interchange(conn, icn, gcn, name, hashlib.sha256(content).hexdigest(), len(built), content, now)
    for claim, draft, x, pccn in built:
        sid = x.submission_id
        await store.mark_sent(conn, sid, icn, gcn, TRANSACTION_SET_CONTROL_NUMBER, name, now)
        payer = await store.get_payer(conn, claim.payer_id)
        claim.follow_up_on = now.date() + timedelta(days=payer.follow_up_days if payer else 30)
        enc = draft.encounter

        submitted = ev.ClaimSubmitted(
                **ids_of(claim), submission_id=sid, patient_account_id=claim.patient_account_id,
                payer=PayerRef(payer_id=claim.payer_id, payer_name=claim.payer_name),
                coverage_rank=claim.coverage_rank, frequency=claim.frequency,  # type: ignore[arg-type]
                payer_claim_control_number=pccn, billing_provider_npi=enc.billing_provider.npi,
                place_of_service=enc.place_of_service, diagnoses=draft.diagnoses, total_charge=draft.total_charge,
                lines=[ev.SubmittedLine(
                    line_number=n, line_control_number=line_control_number(sid, n), charge_id=line.charge_id,
                    procedure_code=line.procedure_code, modifiers=line.modifiers, description=line.description,
                    revenue_code=line.revenue_code, service_date=line.service_date,
                    service_end_date=line.service_end_date, units=line.units, charge=line.charge,
                    diagnosis_pointers=line.diagnosis_pointers, expected_allowed=line.expected_allowed,
                ) for n, line in enumerate(draft.lines, start=1)],
                next_payer=_next_payer(draft), patient_protection=_protection(draft),
                interchange=ev.InterchangeControl(interchange_control_number=icn, group_control_number=gcn,
                                                  transaction_set_control_number=TRANSACTION_SET_CONTROL_NUMBER,
                                                  file_name=name),
                submitted_at=now,
            )

        await move(conn, claim, "submit", now, submitted, detail={"submission_id": sid, "file": name})
    log.info("837P batch written", extra=ids(count=len(built), file_id=name))
    return name


async def _hold_for_x12(conn: asyncpg.Connection, claim: ClaimRow, message: str, now: datetime) -> None:
    finding = Finding("X12-BUILD", "error", message, "required-fields")
    claim.edits = [asdict(finding)]
    await store.drop_pending(conn, claim.claim_id)
    await move(conn, claim, "hold", now, ev.ClaimHeld(**ids_of(claim), edits=failed_edits([finding]), held_at=now))


async def write_interchanges(pool: asyncpg.Pool, clearinghouse: Clearinghouse, now: datetime) -> int:
    """Write every committed interchange not yet in outbound/ (again after a crash: same name and
    content, at least once). Called after the batch commits, so an acknowledgment can never
    arrive before the submission it acknowledges is recorded."""
    async with pool.acquire() as conn:
        pending = await store.unwritten_interchanges(conn)
        for row in pending:
            await clearinghouse.write("outbound", row["file_name"], bytes(row["content"]))
            await store.mark_written(conn, row["interchange_control_number"], now)
    return len(pending)
