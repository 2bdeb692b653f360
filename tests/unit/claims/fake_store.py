"""An in-memory ClaimsStore for the service layer's unit tests: claims are copied in and out, as
the database would, so a use case that changes a claim and forgets to save it is caught."""

from __future__ import annotations

import copy
import dataclasses
import itertools
from collections.abc import Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any, cast

from schemas.base import Event
from schemas.eligibility import EligibilityOutcome
from services.chassis import outbox
from services.claims.domain.assembly import PostedCharge
from services.claims.domain.claim import Claim
from services.claims.domain.eligibility import CheckState
from services.claims.domain.eligibility import Source as EligibilitySource
from services.claims.domain.payers import FeeSchedule, PayerConfig
from services.claims.domain.scrubber import LineKey
from services.claims.store import (
    AckRow,
    CheckRow,
    ClaimsStore,
    EncounterRow,
    HistoryEntry,
    HistoryRow,
    SubmissionRow,
)
from tests.unit.claims.factory import FEES

PAYERS = {
    "60054": PayerConfig("60054", "Aetna", "CI", 0, 365, 30),
    "610442": PayerConfig("610442", "Medi-Cal", "MC", 0, 365, 45),
}


class FakeClaimsStore(ClaimsStore):
    def __init__(self) -> None:  # no connection: every method used by the tests is below
        self.claims: dict[str, Claim] = {}
        self.entries: list[HistoryEntry] = []
        self.events: list[Event] = []
        self.payers = dict(PAYERS)
        self.submissions: dict[str, SubmissionRow] = {}
        self.encounters: dict[str, EncounterRow] = {}
        self.charges: dict[str, PostedCharge] = {}
        self._ids = itertools.count(1)
        self.waived: dict[tuple[str, str], str] = {}
        self.audited: list[tuple[str, str, str, dict[str, Any]]] = []
        self.checks: dict[str, CheckRow] = {}
        self.interchanges_saved = 0
        self.interchange_files: dict[str, bytes] = {}

    # --- claims ---------------------------------------------------------------------------------

    async def save_claims(self, claims: Sequence[tuple[Claim, Sequence[HistoryRow]]], *, new: bool = False) -> None:
        for c, rows in claims:
            assert (c.claim_id not in self.claims) if new else (c.claim_id in self.claims)
            self.claims[c.claim_id] = _copy(c)
            await self.add_history_rows([(c.claim_id, c.claim_family_id, row) for row in rows])

    async def get_claim(self, claim_id: str, lock: bool = True) -> Claim | None:
        found = self.claims.get(claim_id)
        return _copy(found) if found else None

    async def claims_for_update(self, claim_ids: Sequence[str]) -> dict[str, Claim]:
        return {c: _copy(self.claims[c]) for c in claim_ids if c in self.claims}

    async def family(self, family_id: str) -> list[Claim]:
        return [_copy(c) for c in self.claims.values() if c.claim_family_id == family_id]

    async def claims_of_encounter(self, encounter_id: str) -> list[Claim]:
        return [_copy(c) for c in self.claims.values() if c.encounter_id == encounter_id]

    async def claims_follow_up_due(self, today: date, limit: int = 100) -> list[Claim]:
        return [_copy(c) for c in self.claims.values()
                if c.state in {"submitted", "accepted", "denied"} and c.follow_up_on and c.follow_up_on <= today]

    async def billed_lines(self, patient_account_id: str, payer_id: str, exclude_family: str) -> frozenset[LineKey]:
        return frozenset()

    # --- history and the outbox -----------------------------------------------------------------

    async def add_history_rows(self, rows: Sequence[tuple[str, str, HistoryRow]]) -> None:
        self.entries += [HistoryEntry(next(self._ids), claim_id, family_id, r.trigger, r.from_state, r.to_state,
                                      r.event_type, r.refused, dict(r.detail), r.at) for claim_id, family_id, r in rows]

    async def history(self, family_id: str) -> list[HistoryEntry]:
        return [h for h in self.entries if h.claim_family_id == family_id]

    async def emit_all(self, events: Sequence[outbox.Traced]) -> None:
        self.events += [cast(Event, event) for event, *_ in events]

    # --- payers, encounters, charges, submissions -----------------------------------------------

    async def get_payer(self, payer_id: str) -> PayerConfig | None:
        return self.payers.get(payer_id)

    async def fee_schedule(self, payer_id: str) -> FeeSchedule:
        return FEES

    async def get_encounter(self, encounter_id: str, lock: bool = False) -> EncounterRow | None:
        return self.encounters.get(encounter_id)

    async def mark_assembled(self, encounter_id: str, revision: int) -> None:
        row = self.encounters[encounter_id]
        self.encounters[encounter_id] = dataclasses.replace(row, assembled_revision=revision)

    async def charge_lines(self, charge_ids: Sequence[str]) -> dict[str, PostedCharge]:
        return {c: self.charges[c] for c in charge_ids if c in self.charges}

    async def add_submission(self, submission_id: str, claim_id: str, frequency: str, now: datetime) -> None:
        self.submissions[submission_id] = SubmissionRow(submission_id, claim_id, frequency, "pending", None, None,
                                                        None, None, now, None)

    async def drop_pending(self, claim_id: str) -> None:
        for sid, s in list(self.submissions.items()):
            if s.claim_id == claim_id and s.status == "pending":
                del self.submissions[sid]

    async def submissions_by_id(self, submission_ids: Sequence[str]) -> dict[str, SubmissionRow]:
        return {s: self.submissions[s] for s in submission_ids if s in self.submissions}

    async def submissions_of(self, claim_ids: Sequence[str]) -> list[SubmissionRow]:
        return [s for s in self.submissions.values() if s.claim_id in claim_ids]

    async def ack_seen(self, sha256: str) -> bool:
        return False

    async def save_acks(self, acks: Sequence[AckRow]) -> None:
        return None

    # --- eligibility checks (kept in order of request) ----------------------------------------

    async def add_check(self, c: CheckRow) -> None:
        self.checks[c.check_id] = c

    async def fresh_answer(self, payer_id: str, member_id: str, service_date: date,
                           since: datetime) -> CheckRow | None:
        found = [c for c in self.checks.values() if c.source == "271" and (c.payer_id, c.member_id, c.service_date)
                 == (payer_id, member_id, service_date) and c.answered_at is not None and c.answered_at >= since]
        return found[-1] if found else None

    async def answer_check(self, check_id: str, state: CheckState, source: EligibilitySource,
                           outcome: EligibilityOutcome, answer: dict[str, Any], now: datetime) -> None:
        self.checks[check_id] = dataclasses.replace(self.checks[check_id], state=state, source=source,
                                                    outcome=outcome, answer=answer, answered_at=now)

    async def latest_checks(self, encounter_ids: Sequence[str]) -> dict[tuple[str, int, str], CheckRow]:
        return {c.key: c for c in self.checks.values() if c.encounter_id in encounter_ids}

    async def checks_of_encounter(self, encounter_id: str) -> list[CheckRow]:
        return [c for c in self.checks.values() if c.encounter_id == encounter_id]

    async def checks_to_send(self, limit: int = 500) -> list[CheckRow]:
        return [c for c in self.checks.values() if c.state == "pending"][:limit]

    async def mark_checks_sent(self, check_ids: Sequence[str], icn: str, now: datetime) -> None:
        for check_id in check_ids:
            self.checks[check_id] = dataclasses.replace(self.checks[check_id], state="sent", sent_at=now,
                                                        interchange_control_number=icn)

    async def next_control_number(self) -> int:
        self.interchanges_saved += 1
        return self.interchanges_saved

    async def save_interchange(self, icn: str, gcn: str, file_name: str, sha256: str,
                               claim_count: int, content: bytes, now: datetime) -> None:
        self.interchange_files[file_name] = content

    # --- code sets and waivers: nothing loaded (the shipped samples judge) ----------------------

    async def loaded_quarters(self, kind: str) -> list[str]:
        return []

    async def waive(self, claim_id: str, edit_id: str, reason: str, operator_id: str, now: datetime) -> None:
        self.waived[claim_id, edit_id] = reason

    async def waivers(self, claim_id: str) -> dict[str, str]:
        return {edit: reason for (claim, edit), reason in self.waived.items() if claim == claim_id}

    async def audit(self, *, actor: str, action: str, subject: str, reason: str, details: dict[str, Any]) -> None:
        self.audited.append((action, subject, reason, details))

    # --- what the tests read ----------------------------------------------------------------------

    def event_types(self) -> list[str]:
        return [type(e).__name__ for e in self.events]

    def stored(self, claim_id: str) -> Claim:
        return self.claims[claim_id]


def _copy(c: Claim) -> Claim:
    kept = copy.deepcopy(c)
    kept.changes.clear()
    return kept


NOW = datetime(2026, 3, 20, 15, 0, tzinfo=UTC)
ZERO = Decimal("0.00")
