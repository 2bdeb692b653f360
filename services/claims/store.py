"""Every SQL statement of the claims service (the one store module)."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Literal, TypeVar, get_args

import asyncpg
from pydantic import BaseModel, TypeAdapter

from schemas.base import Event
from schemas.charges import ChargePosted, EncounterReadyToBill
from schemas.eligibility import EligibilityOutcome
from services.chassis import audit, outbox
from services.chassis.consumer import TransientError
from services.claims.domain.assembly import PostedCharge
from services.claims.domain.claim import Adjudication, Claim, Origin, coverage_rank
from services.claims.domain.codesets import Mue, PtpEdit
from services.claims.domain.eligibility import CheckState, Trigger
from services.claims.domain.eligibility import Source as EligibilitySource
from services.claims.domain.findings import Finding
from services.claims.domain.model import ClaimDraft, StoredDraft
from services.claims.domain.payers import FeeRow, FeeSchedule, PayerConfig
from services.claims.domain.scrubber import LineKey
from services.claims.domain.states import State


def _json(value: Any) -> str:
    """JSON text for a `$n::text::jsonb` parameter: encoded once here, not turned into JSON-safe
    Python values first and encoded again by the connection's jsonb codec."""
    return json.dumps(value, default=str)


M = TypeVar("M", bound=BaseModel)


def _load(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


@dataclass(frozen=True)
class EncounterRow:
    encounter_id: str
    patient_account_id: str
    revision: int
    ready: EncounterReadyToBill
    assemble_after: datetime
    assembled_revision: int


def _encounter(row: asyncpg.Record) -> EncounterRow:
    return EncounterRow(row["encounter_id"], row["patient_account_id"], row["revision"],
                        _model(EncounterReadyToBill, row["ready"]), row["assemble_after"],
                        row["assembled_revision"])


@dataclass
class StoredCharge:
    """A charge of the projection: its ChargePosted payload as JSON text (`line`), or as read."""

    charge_id: str
    reversed: bool
    line: str
    posted: ChargePosted | None = None

    def event(self) -> ChargePosted:
        if self.posted is None:
            self.posted = _model(ChargePosted, self.line)
        return self.posted


@dataclass(frozen=True)
class SubmissionRow:
    submission_id: str
    claim_id: str
    frequency: str
    status: Literal["pending", "sent"]
    interchange_control_number: str | None
    group_control_number: str | None
    transaction_set_control_number: str | None
    file_name: str | None
    queued_at: datetime
    sent_at: datetime | None


@dataclass(frozen=True)
class HistoryEntry:
    """One row of a claim family's history: a transition, a refusal or a note."""

    id: int
    claim_id: str
    claim_family_id: str
    trigger: str
    from_state: str | None
    to_state: str | None
    event_type: str | None
    refused: bool
    detail: dict[str, object]
    at: datetime


@dataclass(frozen=True)
class HistoryRow:
    """A history row to write with its claim (HistoryEntry is one as read back)."""

    trigger: str
    from_state: str | None
    to_state: str | None
    event_type: str | None
    detail: dict[str, Any]
    at: datetime
    refused: bool = False


@dataclass(frozen=True)
class AckRow:
    """An acknowledgment (or one claim of it) as stored: matched or flagged."""

    file_name: str
    sha256: str
    kind: str
    reference: str
    outcome: str
    submission_id: str | None
    flagged: bool
    detail: dict[str, Any]
    now: datetime


@dataclass(frozen=True)
class InterchangeFile:
    interchange_control_number: str
    file_name: str
    content: bytes


@dataclass(frozen=True)
class StatusRequestRow:
    """A claim status request (276) and, once answered, the 277's answer as applied."""

    request_id: str
    claim_id: str
    submission_id: str
    trace_number: str
    trigger: Literal["follow_up", "on_demand"]
    state: Literal["pending", "sent", "answered", "rejected"]
    interchange_control_number: str | None
    file_name: str | None
    queued_at: datetime
    sent_at: datetime | None
    answered_at: datetime | None
    answer_file: str | None
    answer: dict[str, Any] | None
    outcome: str | None
    action: str | None
    next_check_on: date | None
    acted_at: datetime | None


def _status_request(row: asyncpg.Record) -> StatusRequestRow:
    return StatusRequestRow(**{**dict(row), "answer": None if row["answer"] is None else _load(row["answer"])})


@dataclass(frozen=True)
class CheckRow:
    """An eligibility check as stored (domain/eligibility.py decides, service/eligibility.py records)."""

    check_id: str
    encounter_id: str
    patient_account_id: str
    encounter_revision: int
    coverage_rank: int
    payer_id: str
    payer_name: str
    member_id: str
    service_date: date
    trace_number: str
    trigger: Trigger
    state: CheckState
    source: EligibilitySource | None
    outcome: EligibilityOutcome | None
    answer: dict[str, Any] | None
    inquiry: dict[str, Any]
    requested_at: datetime
    sent_at: datetime | None = None
    answered_at: datetime | None = None
    interchange_control_number: str | None = None
    traceparent: str | None = None
    """The trace the check was asked in (its encounter's): the 271's answer continues it."""

    @property
    def key(self) -> tuple[str, int, str]:
        """The coverage and payer of an encounter it asks about (what a claim waits on)."""
        return self.encounter_id, self.coverage_rank, self.payer_id


_CHECK_COLUMNS = tuple(f.name for f in dataclasses.fields(CheckRow))
_CHECK_PARAMS = ", ".join(f"${i}::text::jsonb" if c in {"answer", "inquiry"} else f"${i}"
                          for i, c in enumerate(_CHECK_COLUMNS, start=1))
_CHECK_SELECT = ", ".join(f"{c}::text AS {c}" if c in {"answer", "inquiry"} else c for c in _CHECK_COLUMNS)


def _check(row: asyncpg.Record) -> CheckRow:
    values = dict(row)
    values["answer"] = None if values["answer"] is None else json.loads(values["answer"])
    values["inquiry"] = json.loads(values["inquiry"])
    return CheckRow(**values)


CLAIM_COLUMNS = (
    "claim_id", "claim_family_id", "encounter_id", "patient_account_id", "payer_id", "payer_name",
    "coverage_rank", "origin", "origin_claim_id", "frequency", "state", "encounter_revision", "charge_ids",
    "total_charge", "doc", "edits", "submission_id", "payer_claim_control_number", "total_paid",
    "adjudication", "follow_up_on", "timely_filing_deadline", "pending_doc", "created_at", "updated_at",
    "traceparent",
)
_JSON_COLUMNS = frozenset({"doc", "edits", "adjudication", "pending_doc"})
# The claim's columns as read: JSON ones as text (see _model).
CLAIM_SELECT = ", ".join(f"{name}::text AS {name}" if name in _JSON_COLUMNS else name for name in CLAIM_COLUMNS)
_STATES: dict[str, State] = {s: s for s in get_args(State)}
_ORIGINS: dict[str, Origin] = {o: o for o in get_args(Origin)}
_ADJUDICATION: TypeAdapter[Adjudication] = TypeAdapter(Adjudication)


def _model(cls: type[M], value: Any) -> M:
    """A model from a jsonb column, read as JSON (the contracts are strict about Python types);
    the queries select these columns as ::text so that the JSON is parsed once, by pydantic."""
    return cls.model_validate_json(value if isinstance(value, str) else json.dumps(value))


NOT_BILLED_STATES = frozenset({"rejected", "held", "created", "corrected", "voided"})
"""A claim in these states does not bill its lines (the duplicate edit ignores it)."""
_PROFESSIONAL = "coalesce(doc->>'claim_type', 'professional') = 'professional'"
"""A claim's doc is professional (docs stored before claim types have no claim_type)."""


def _line_keys(lines: Any) -> list[LineKey]:
    """The duplicate edit's keys of a claim's stored lines (its doc's `lines`, as JSON)."""
    return [LineKey(line["procedure_code"], tuple(line["modifiers"]), date.fromisoformat(line["service_date"]))
            for line in _load(lines)]


def _draft(value: Any) -> ClaimDraft:
    return _model(ClaimDraft, value)


def _claim(row: asyncpg.Record) -> Claim:
    return Claim(
        claim_id=row["claim_id"], claim_family_id=row["claim_family_id"], encounter_id=row["encounter_id"],
        patient_account_id=row["patient_account_id"], payer_id=row["payer_id"], payer_name=row["payer_name"],
        coverage_rank=coverage_rank(row["coverage_rank"]), origin=_ORIGINS[row["origin"]],
        origin_claim_id=row["origin_claim_id"], state=_STATES[row["state"]],
        encounter_revision=row["encounter_revision"],
        content=StoredDraft(row["doc"], list(row["charge_ids"]), row["total_charge"]),
        edits=[Finding(**e) for e in _load(row["edits"])], submission_id=row["submission_id"],
        payer_claim_control_number=row["payer_claim_control_number"], total_paid=row["total_paid"],
        adjudication=None if row["adjudication"] is None else _ADJUDICATION.validate_json(row["adjudication"]),
        follow_up_on=row["follow_up_on"], timely_filing_deadline=row["timely_filing_deadline"],
        pending_draft=None if row["pending_doc"] is None else _draft(row["pending_doc"]),
        created_at=row["created_at"], updated_at=row["updated_at"], traceparent=row["traceparent"],
    )


def _columns(c: Claim) -> list[Any]:
    """The claim's values in CLAIM_COLUMNS order, JSON columns as JSON text."""
    values: dict[str, Any] = {
        "claim_id": c.claim_id, "claim_family_id": c.claim_family_id, "encounter_id": c.encounter_id,
        "patient_account_id": c.patient_account_id, "payer_id": c.payer_id, "payer_name": c.payer_name,
        "coverage_rank": c.coverage_rank, "origin": c.origin, "origin_claim_id": c.origin_claim_id,
        "frequency": c.frequency, "state": c.state, "encounter_revision": c.encounter_revision,
        "charge_ids": c.charge_ids, "total_charge": c.total_charge,
        # A draft read and not replaced is written back as read (StoredDraft), not dumped again.
        "doc": c.content.text if isinstance(c.content, StoredDraft) else c.content.model_dump_json(),
        "edits": _json([asdict(f) for f in c.edits]),
        "submission_id": c.submission_id, "payer_claim_control_number": c.payer_claim_control_number,
        "total_paid": c.total_paid,
        "adjudication": None if c.adjudication is None else c.adjudication.model_dump_json(),
        "follow_up_on": c.follow_up_on, "timely_filing_deadline": c.timely_filing_deadline,
        "pending_doc": None if c.pending_draft is None else c.pending_draft.model_dump_json(),
        "created_at": c.created_at, "updated_at": c.updated_at, "traceparent": c.traceparent,
    }
    return [values[name] for name in CLAIM_COLUMNS]


def _traced(claims: Sequence[tuple[Claim, object]], new: bool) -> None:
    """A new claim keeps the trace it is created in (its encounter's, as a rule: the handler's),
    for the background passes that move it later to continue (telemetry.continued)."""
    if new:
        for c, _ in claims:
            c.traceparent = c.traceparent or outbox.current_traceparent()


_HISTORY_COLUMNS = ("claim_id", "claim_family_id", "trigger", "from_state", "to_state", "event_type", "refused",
                    "detail", "at")
_HISTORY_TYPES = ("text", "text", "text", "text", "text", "text", "bool", "text", "timestamptz")


def _history_insert(of_one_claim: bool) -> str:
    """INSERT of history rows passed as arrays, one per column, in the order given (ids follow it):
    of one claim (its claim_id and claim_family_id are $1 and $2, the arrays follow the claim's
    columns) or of any claims (the arrays are $1 to $9)."""
    first = len(CLAIM_COLUMNS) + 1 if of_one_claim else 1
    names, types = (_HISTORY_COLUMNS[2:], _HISTORY_TYPES[2:]) if of_one_claim else (_HISTORY_COLUMNS, _HISTORY_TYPES)
    arrays = ", ".join(f"${i}::{kind}[]" for i, kind in enumerate(types, start=first))
    values = ", ".join("h.detail::jsonb" if name == "detail" else f"h.{name}" for name in names)
    return (f"INSERT INTO claim_history ({', '.join(_HISTORY_COLUMNS)})"
            f" SELECT {'$1, $2, ' if of_one_claim else ''}{values} FROM unnest({arrays}) WITH ORDINALITY"
            f" AS h({', '.join(names)}, n) ORDER BY h.n")


def _history_arrays(rows: Sequence[HistoryRow]) -> list[list[Any]]:
    return [[r.trigger for r in rows], [r.from_state for r in rows], [r.to_state for r in rows],
            [r.event_type for r in rows], [r.refused for r in rows], [_json(r.detail) for r in rows],
            [r.at for r in rows]]


_CLAIM_PARAMS = [f"${i}" + ("::text::jsonb" if name in _JSON_COLUMNS else "")
                 for i, name in enumerate(CLAIM_COLUMNS, start=1)]
_INSERT_CLAIM = f"INSERT INTO claims ({', '.join(CLAIM_COLUMNS)}) VALUES ({', '.join(_CLAIM_PARAMS)})"
_UPDATE_CLAIM = ("UPDATE claims SET " + ", ".join(
    f"{name} = {param}" for name, param in zip(CLAIM_COLUMNS[1:], _CLAIM_PARAMS[1:], strict=True))
    + " WHERE claim_id = $1")
# A claim written with the history rows of what it went through: one statement (round trip) each.
_WRITE_CLAIM = {new: f"WITH saved AS ({write}) " + _history_insert(of_one_claim=True)
                for new, write in ((True, _INSERT_CLAIM), (False, _UPDATE_CLAIM))}
_ADD_HISTORY = _history_insert(of_one_claim=False)


class ClaimsStore:
    """The claims service's tables over one connection (the caller's transaction).

    Reference data (payers, fee schedules, the loaded code-set quarters) and the charge lines
    read are kept for the life of the store, which is one handler or one background pass inside
    one transaction (never across transactions); the store's own writes to them invalidate."""

    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn
        self._payers: dict[str, PayerConfig | None] = {}
        self._fees: dict[str, FeeSchedule] = {}
        self._quarters: dict[str, list[str]] | None = None
        # The charges read (or, in a unit, saved), by id; None: not stored (as of the read).
        self._charges: dict[str, StoredCharge | None] = {}

    async def upsert_payers(self, payers: Sequence[PayerConfig], now: datetime) -> int:
        self._payers.clear()
        self._fees.clear()
        for p in payers:
            await self.conn.execute(
                "INSERT INTO payers (payer_id, name, claim_filing_indicator, bill_hold_days, timely_filing_days,"
                " follow_up_days, fee_schedule, poa_required, eligibility, loaded_at)"
                " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
                " ON CONFLICT (payer_id) DO UPDATE SET name = $2, claim_filing_indicator = $3, bill_hold_days = $4,"
                " timely_filing_days = $5, follow_up_days = $6, fee_schedule = $7, poa_required = $8,"
                " eligibility = $9, loaded_at = $10",
                p.payer_id, p.name, p.claim_filing_indicator, p.bill_hold_days, p.timely_filing_days,
                p.follow_up_days, p.fee_schedule, p.poa_required, p.eligibility, now,
            )
        return len(payers)

    async def payer_master_empty(self) -> bool:
        """Locks the payer master for this transaction (one start-up load wins) and says if it is empty."""
        await self.conn.execute("LOCK TABLE payers IN EXCLUSIVE MODE")
        return bool(await self.conn.fetchval("SELECT count(*) FROM payers") == 0)

    async def get_payer(self, payer_id: str) -> PayerConfig | None:
        """The payer, read with its fee schedule (a claim needs both) in one statement."""
        await self.load_payers([payer_id])
        return self._payers[payer_id]

    async def load_payers(self, payer_ids: Sequence[str]) -> None:
        """Read the payers not read yet, each with its fee schedule, in one statement."""
        unread = [p for p in dict.fromkeys(payer_ids) if p not in self._payers]
        if not unread:
            return
        rows = await self.conn.fetch(
            "SELECT p.*, f.procedure_code, f.modifier, f.allowed_amount, f.effective_date"
            " FROM payers p LEFT JOIN fee_schedule f ON f.payer_id = p.payer_id WHERE p.payer_id = ANY($1)", unread)
        by_payer: dict[str, list[asyncpg.Record]] = {}
        for r in rows:
            by_payer.setdefault(r["payer_id"], []).append(r)
        for payer_id in unread:
            found = by_payer.get(payer_id)
            self._payers[payer_id] = None if not found else PayerConfig(
                found[0]["payer_id"], found[0]["name"], found[0]["claim_filing_indicator"],
                found[0]["bill_hold_days"], found[0]["timely_filing_days"], found[0]["follow_up_days"],
                found[0]["fee_schedule"], found[0]["poa_required"], found[0]["eligibility"])
            if found:
                self._fees[payer_id] = FeeSchedule([
                    FeeRow(r["procedure_code"], r["modifier"], r["allowed_amount"], r["effective_date"])
                    for r in found if r["procedure_code"] is not None])

    async def list_payers(self) -> list[dict[str, Any]]:
        rows = await self.conn.fetch(
            "SELECT p.*, (SELECT count(*) FROM fee_schedule f WHERE f.payer_id = p.payer_id) AS fee_rows"
            " FROM payers p ORDER BY payer_id"
        )
        return [dict(r) for r in rows]

    async def replace_fee_schedule(self, payer_id: str, rows: Sequence[FeeRow]) -> int:
        self._fees.pop(payer_id, None)
        self._payers.pop(payer_id, None)
        await self.conn.execute("DELETE FROM fee_schedule WHERE payer_id = $1", payer_id)
        await self.conn.executemany(
            "INSERT INTO fee_schedule (payer_id, procedure_code, modifier, allowed_amount, effective_date)"
            " VALUES ($1, $2, $3, $4, $5)",
            [(payer_id, r.procedure_code, r.modifier, r.allowed_amount, r.effective_date) for r in rows],
        )
        return len(rows)

    async def fee_schedule(self, payer_id: str) -> FeeSchedule:
        if payer_id not in self._payers:
            await self.get_payer(payer_id)
        if payer_id not in self._fees:  # rows of a payer not in the payer master
            rows = await self.conn.fetch(
                "SELECT procedure_code, modifier, allowed_amount, effective_date FROM fee_schedule"
                " WHERE payer_id = $1", payer_id)
            self._fees[payer_id] = FeeSchedule([
                FeeRow(r["procedure_code"], r["modifier"], r["allowed_amount"], r["effective_date"]) for r in rows])
        return self._fees[payer_id]

    # --- code sets and waivers ------------------------------------------------------------------

    async def replace_ptp(self, quarter: str, source_file: str, edits: Sequence[PtpEdit], now: datetime) -> int:
        await self.conn.execute("DELETE FROM ncci_ptp WHERE quarter = $1 AND source_file = $2", quarter, source_file)
        await self.conn.copy_records_to_table(
            "ncci_ptp", columns=["quarter", "source_file", "column1", "column2", "effective_date", "deletion_date",
                                 "modifier_indicator"],
            records=[(quarter, source_file, e.column1, e.column2, e.effective, e.deleted, e.modifier_indicator)
                     for e in edits])
        await self._record_load("ncci", quarter, source_file, len(edits), now)
        return len(edits)

    async def replace_mue(self, quarter: str, source_file: str, limits: Sequence[Mue], now: datetime) -> int:
        await self.conn.execute("DELETE FROM mue WHERE quarter = $1", quarter)
        await self.conn.execute("DELETE FROM code_set_loads WHERE kind = 'mue' AND quarter = $1", quarter)
        await self.conn.copy_records_to_table(
            "mue", columns=["quarter", "source_file", "procedure_code", "max_units", "adjudication_indicator"],
            records=[(quarter, source_file, m.procedure_code, m.max_units, m.adjudication_indicator)
                     for m in {m.procedure_code: m for m in limits}.values()])
        await self._record_load("mue", quarter, source_file, len(limits), now)
        return len(limits)

    async def _record_load(self, kind: str, quarter: str, source_file: str, rows: int, now: datetime) -> None:
        self._quarters = None
        await self.conn.execute(
            "INSERT INTO code_set_loads (kind, quarter, source_file, rows, loaded_at) VALUES ($1, $2, $3, $4, $5)"
            " ON CONFLICT (kind, quarter, source_file) DO UPDATE SET rows = $4, loaded_at = $5",
            kind, quarter, source_file, rows, now)

    async def code_set_loads(self) -> list[dict[str, Any]]:
        rows = await self.conn.fetch("SELECT * FROM code_set_loads ORDER BY kind, quarter, source_file")
        return [dict(r) for r in rows]

    async def loaded_quarters(self, kind: str) -> list[str]:
        if self._quarters is None:
            rows = await self.conn.fetch("SELECT DISTINCT kind, quarter FROM code_set_loads")
            self._quarters = {}
            for r in rows:
                self._quarters.setdefault(r["kind"], []).append(r["quarter"])
        return self._quarters.get(kind, [])

    async def ptp_among(self, quarter: str, codes: Sequence[str]) -> list[PtpEdit]:
        """The loaded PTP edits of a quarter between any two of these codes."""
        rows = await self.conn.fetch(
            "SELECT * FROM ncci_ptp WHERE quarter = $1 AND column1 = ANY($2) AND column2 = ANY($2)",
            quarter, list(codes))
        return [PtpEdit(r["column1"], r["column2"], r["effective_date"], r["deletion_date"],
                        r["modifier_indicator"], r["source_file"], r["quarter"]) for r in rows]

    async def mue_of(self, quarter: str, codes: Sequence[str]) -> list[Mue]:
        rows = await self.conn.fetch("SELECT * FROM mue WHERE quarter = $1 AND procedure_code = ANY($2)",
                                     quarter, list(codes))
        return [Mue(r["procedure_code"], r["max_units"], r["adjudication_indicator"], r["source_file"],
                    r["quarter"]) for r in rows]

    async def waive(self, claim_id: str, edit_id: str, reason: str, operator_id: str, now: datetime) -> None:
        await self.conn.execute(
            "INSERT INTO claim_edit_waivers (claim_id, edit_id, reason, operator_id, waived_at)"
            " VALUES ($1, $2, $3, $4, $5) ON CONFLICT (claim_id, edit_id) DO UPDATE SET reason = $3,"
            " operator_id = $4, waived_at = $5",
            claim_id, edit_id, reason, operator_id, now)

    async def waivers(self, claim_id: str) -> dict[str, str]:
        rows = await self.conn.fetch("SELECT edit_id, reason FROM claim_edit_waivers WHERE claim_id = $1", claim_id)
        return {r["edit_id"]: r["reason"] for r in rows}

    async def save_charge(self, charge: ChargePosted) -> None:
        self._charges.pop(charge.charge_id, None)
        await self.conn.execute(
            "INSERT INTO charges (charge_id, encounter_id, line) VALUES ($1, $2, $3::text::jsonb)"
            " ON CONFLICT (charge_id) DO NOTHING",
            charge.charge_id, charge.encounter_id, charge.model_dump_json(),
        )

    async def reverse_charge(self, charge_id: str) -> bool:
        self._charges.pop(charge_id, None)
        done = await self.conn.execute("UPDATE charges SET reversed = true WHERE charge_id = $1", charge_id)
        return str(done) != "UPDATE 0"

    async def _charge_rows(self, charge_ids: Sequence[str]) -> list[StoredCharge]:
        """The stored charges among these ids; an encounter's are read once (missing, then lines)."""
        unread = [c for c in dict.fromkeys(charge_ids) if c not in self._charges]
        if unread:
            rows = await self.conn.fetch("SELECT charge_id, reversed, line::text AS line FROM charges"
                                         " WHERE charge_id = ANY($1)", unread)
            self._charges.update(dict.fromkeys(unread))
            self._charges.update((r["charge_id"], StoredCharge(r["charge_id"], r["reversed"], r["line"]))
                                 for r in rows)
        return [row for row in map(self._charges.get, charge_ids) if row is not None]

    async def charge_lines(self, charge_ids: Sequence[str]) -> dict[str, PostedCharge]:
        """Posted, not reversed lines by charge id, professional and institutional (each with its claim type)."""
        return {r.charge_id: PostedCharge.from_event(r.event()) for r in await self._charge_rows(charge_ids)
                if not r.reversed}

    async def missing_charges(self, charge_ids: Sequence[str]) -> list[str]:
        have = {r.charge_id for r in await self._charge_rows(charge_ids)}
        return [c for c in charge_ids if c not in have]

    async def save_encounter(self, ready: EncounterReadyToBill, released_at: datetime,
                             assemble_after: datetime) -> EncounterRow | None:
        """Store a release (the row stays locked by this transaction); None when an equal or newer
        revision is already stored."""
        assembled = await self.conn.fetchval(
            "INSERT INTO encounters (encounter_id, patient_account_id, revision, ready, released_at, assemble_after)"
            " VALUES ($1, $2, $3, $4::text::jsonb, $5, $6) ON CONFLICT (encounter_id) DO UPDATE SET revision = $3,"
            " ready = $4::text::jsonb, released_at = $5, assemble_after = $6 WHERE encounters.revision < $3"
            " RETURNING assembled_revision",
            ready.encounter_id, ready.patient_account_id, ready.revision, ready.model_dump_json(), released_at,
            assemble_after,
        )
        if assembled is None:
            return None
        return EncounterRow(ready.encounter_id, ready.patient_account_id, ready.revision, ready, assemble_after,
                            assembled)

    async def get_encounter(self, encounter_id: str, lock: bool = False) -> EncounterRow | None:
        row = await self.conn.fetchrow(
            "SELECT encounter_id, patient_account_id, revision, ready::text AS ready, assemble_after,"
            " assembled_revision FROM encounters WHERE encounter_id = $1" + (" FOR UPDATE" if lock else ""),
            encounter_id)
        return _encounter(row) if row else None

    async def encounters_due(self, now: datetime, limit: int = 50) -> list[str]:
        rows = await self.conn.fetch(
            "SELECT encounter_id FROM encounters WHERE assembled_revision < revision AND assemble_after <= $1"
            " ORDER BY assemble_after LIMIT $2 FOR UPDATE SKIP LOCKED",
            now, limit,
        )
        return [r["encounter_id"] for r in rows]

    async def mark_assembled(self, encounter_id: str, revision: int) -> None:
        await self.conn.execute("UPDATE encounters SET assembled_revision = $2 WHERE encounter_id = $1",
                                encounter_id, revision)

    async def save_claims(self, claims: Sequence[tuple[Claim, Sequence[HistoryRow]]], *, new: bool = False) -> None:
        """Insert (`new`) or update each claim with its history rows: one statement each, all of
        them in one pipelined round trip."""
        _traced(claims, new)
        args = [[*_columns(c), *_history_arrays(rows)] for c, rows in claims]
        if len(args) == 1:
            await self.conn.execute(_WRITE_CLAIM[new], *args[0])
        elif args:
            await self.conn.executemany(_WRITE_CLAIM[new], args)

    async def save_claim(self, c: Claim) -> None:
        await self.save_claims([(c, ())])

    def _claim(self, row: asyncpg.Record, *, locked: bool) -> Claim:
        """A claim as read (`locked`: FOR UPDATE, by this transaction)."""
        return _claim(row)

    async def claims_for_update(self, claim_ids: Sequence[str]) -> dict[str, Claim]:
        """The claims by id, locked (in claim id order, as every batch of this module locks them)."""
        rows = await self.conn.fetch(
            f"SELECT {CLAIM_SELECT} FROM claims WHERE claim_id = ANY($1) ORDER BY claim_id FOR UPDATE",
            list(claim_ids))
        return {r["claim_id"]: self._claim(r, locked=True) for r in rows}

    async def get_claim(self, claim_id: str, lock: bool = True) -> Claim | None:
        row = await self.conn.fetchrow(
            f"SELECT {CLAIM_SELECT} FROM claims WHERE claim_id = $1" + (" FOR UPDATE" if lock else ""), claim_id)
        return self._claim(row, locked=lock) if row else None

    async def claims_of_encounter(self, encounter_id: str) -> list[Claim]:
        rows = await self.conn.fetch(
            f"SELECT {CLAIM_SELECT} FROM claims WHERE encounter_id = $1 ORDER BY created_at, claim_id FOR UPDATE",
            encounter_id)
        return [self._claim(r, locked=True) for r in rows]

    async def family(self, family_id: str) -> list[Claim]:
        return await self.families([family_id])

    async def families(self, family_ids: Sequence[str]) -> list[Claim]:
        """The claims of these families (not locked), each family's in creation order."""
        rows = await self.conn.fetch(
            f"SELECT {CLAIM_SELECT} FROM claims WHERE claim_family_id = ANY($1)"
            " ORDER BY claim_family_id, created_at, claim_id", list(family_ids))
        return [self._claim(r, locked=False) for r in rows]

    async def find_claim_id(self, ident: str) -> str | None:
        """A claim id, a claim family id or a submission id -> a claim id."""
        found: str | None = await self.conn.fetchval(
            "SELECT claim_id FROM claims WHERE claim_id = $1 OR claim_family_id = $1"
            " UNION ALL SELECT claim_id FROM submissions WHERE submission_id = $1 LIMIT 1",
            ident,
        )
        return found

    async def held_claims(self) -> list[Claim]:
        rows = await self.conn.fetch(f"SELECT {CLAIM_SELECT} FROM claims WHERE state = 'held' ORDER BY updated_at")
        return [_claim(r) for r in rows]

    async def holds(self) -> tuple[int, datetime | None]:
        """(claims on hold now, when the longest-held of them went on hold). A claim held again
        while held (a new edit) keeps the time it went on hold; one with no history (never) would
        count from its last update."""
        row = await self.conn.fetchrow(
            "SELECT count(*), min(COALESCE((SELECT max(h.at) FROM claim_history h"
            "   WHERE h.claim_family_id = c.claim_family_id AND h.claim_id = c.claim_id AND h.to_state = 'held'"
            "   AND h.from_state IS DISTINCT FROM 'held' AND NOT h.refused), c.updated_at))"
            " FROM claims c WHERE c.state = 'held'")
        assert row is not None
        return int(row[0]), row[1]

    async def claims_follow_up_due(self, today: date, limit: int = 100) -> list[Claim]:
        rows = await self.conn.fetch(
            f"SELECT {CLAIM_SELECT} FROM claims WHERE state IN ('submitted', 'accepted', 'denied')"
            " AND follow_up_on <= $1"
            " ORDER BY follow_up_on LIMIT $2 FOR UPDATE SKIP LOCKED",
            today, limit,
        )
        return [_claim(r) for r in rows]

    async def billed_lines(self, patient_account_id: str, payer_id: str,
                           exclude_family: str) -> frozenset[LineKey]:
        """Lines on other live professional claims of the same patient account and payer (for the
        duplicate edit, which judges professional claims only: a facility claim bills the same
        HCPCS code as the professional claim of the same visit)."""
        rows = await self.conn.fetch(
            "SELECT doc->'lines' AS lines FROM claims WHERE patient_account_id = $1 AND payer_id = $2"
            " AND claim_family_id <> $3 AND frequency = '1' AND state <> ALL($4) AND " + _PROFESSIONAL,
            patient_account_id, payer_id, exclude_family, list(NOT_BILLED_STATES),
        )
        return frozenset(key for r in rows for key in _line_keys(r["lines"]))

    async def add_history(self, claim_id: str, family_id: str, trigger: str, from_state: str | None,
                          to_state: str | None, event_type: str | None, at: datetime, *, refused: bool = False,
                          detail: dict[str, Any] | None = None) -> None:
        await self.add_history_rows([(claim_id, family_id, HistoryRow(trigger, from_state, to_state, event_type,
                                                                      detail or {}, at, refused))])

    async def add_history_rows(self, rows: Sequence[tuple[str, str, HistoryRow]]) -> None:
        """History rows of any claims (claim id, family id, row), in one statement."""
        if rows:
            await self.conn.execute(_ADD_HISTORY, [r[0] for r in rows], [r[1] for r in rows],
                                    *_history_arrays([r[2] for r in rows]))

    async def history(self, family_id: str) -> list[HistoryEntry]:
        rows = await self.conn.fetch("SELECT * FROM claim_history WHERE claim_family_id = $1 ORDER BY id", family_id)
        return [HistoryEntry(**{**dict(r), "detail": _load(r["detail"])}) for r in rows]

    async def add_submission(self, submission_id: str, claim_id: str, frequency: str,
                             now: datetime) -> None:
        await self.conn.execute(
            "INSERT INTO submissions (submission_id, claim_id, frequency, status, queued_at)"
            " VALUES ($1, $2, $3, 'pending', $4)",
            submission_id, claim_id, frequency, now,
        )

    async def drop_pending(self, claim_id: str) -> None:
        await self.conn.execute("DELETE FROM submissions WHERE claim_id = $1 AND status = 'pending'", claim_id)

    async def drop_submission(self, submission_id: str) -> None:
        await self.conn.execute(
            "DELETE FROM submissions WHERE submission_id = $1 AND status = 'pending'", submission_id)

    async def pending_submissions(self, limit: int = 500) -> list[tuple[str, str]]:
        """(submission_id, claim_id) of queued submissions, locked for this batch."""
        rows = await self.conn.fetch(
            "SELECT submission_id, claim_id FROM submissions WHERE status = 'pending' ORDER BY queued_at, submission_id"
            " LIMIT $1 FOR UPDATE SKIP LOCKED",
            limit,
        )
        return [(r["submission_id"], r["claim_id"]) for r in rows]

    async def next_control_number(self) -> int:
        value: int = await self.conn.fetchval("SELECT nextval('x12_control_number')")
        return value

    async def mark_sent(self, submission_ids: Sequence[str], icn: str, gcn: str, st02: str, file_name: str,
                        now: datetime) -> None:
        """The submissions one interchange carried, all in one statement."""
        await self.conn.execute(
            "UPDATE submissions SET status = 'sent', interchange_control_number = $2, group_control_number = $3,"
            " transaction_set_control_number = $4, file_name = $5, sent_at = $6 WHERE submission_id = ANY($1)",
            list(submission_ids), icn, gcn, st02, file_name, now,
        )

    async def save_interchange(self, icn: str, gcn: str, file_name: str, sha256: str,
                               claim_count: int, content: bytes, now: datetime) -> None:
        await self.conn.execute(
            "INSERT INTO interchanges (interchange_control_number, group_control_number, file_name, sha256,"
            " claim_count, content) VALUES ($1, $2, $3, $4, $5, $6)",
            icn, gcn, file_name, sha256, claim_count, content,
        )

    async def unwritten_interchanges(self) -> list[InterchangeFile]:
        rows = await self.conn.fetch(
            "SELECT interchange_control_number, file_name, content FROM interchanges WHERE written_at IS NULL"
            " ORDER BY interchange_control_number"
        )
        return [InterchangeFile(r["interchange_control_number"], r["file_name"], bytes(r["content"])) for r in rows]

    async def mark_written(self, icn: str, now: datetime) -> None:
        await self.conn.execute(
            "UPDATE interchanges SET written_at = $2 WHERE interchange_control_number = $1", icn, now
        )

    async def submission(self, submission_id: str) -> SubmissionRow | None:
        return (await self.submissions_by_id([submission_id])).get(submission_id)

    async def submissions_by_id(self, submission_ids: Sequence[str]) -> dict[str, SubmissionRow]:
        rows = await self.conn.fetch("SELECT * FROM submissions WHERE submission_id = ANY($1)", list(submission_ids))
        return {r["submission_id"]: SubmissionRow(**dict(r)) for r in rows}

    async def submissions_in_set(self, gcn: str, st02: str) -> list[SubmissionRow]:
        rows = await self.conn.fetch(
            "SELECT * FROM submissions WHERE status = 'sent' AND ltrim(group_control_number, '0') = ltrim($1, '0')"
            " AND transaction_set_control_number = $2",
            gcn, st02,
        )
        return [SubmissionRow(**dict(r)) for r in rows]

    async def submissions_in_interchange(self, icn: str) -> list[SubmissionRow]:
        """The sent submissions an interchange (ISA13) carried; a TA1 may drop its leading zeros."""
        rows = await self.conn.fetch(
            "SELECT * FROM submissions WHERE status = 'sent'"
            " AND ltrim(interchange_control_number, '0') = ltrim($1, '0') ORDER BY submission_id",
            icn,
        )
        return [SubmissionRow(**dict(r)) for r in rows]

    async def submissions_of(self, claim_ids: Sequence[str]) -> list[SubmissionRow]:
        rows = await self.conn.fetch("SELECT * FROM submissions WHERE claim_id = ANY($1) ORDER BY queued_at",
                                     list(claim_ids))
        return [SubmissionRow(**dict(r)) for r in rows]

    # --- claim status requests (276/277) --------------------------------------------------------

    async def add_status_request(self, request_id: str, claim_id: str, submission_id: str, trace_number: str,
                                 trigger: str, now: datetime) -> None:
        await self.conn.execute(
            "INSERT INTO claim_status_requests (request_id, claim_id, submission_id, trace_number, trigger, state,"
            " queued_at) VALUES ($1, $2, $3, $4, $5, 'pending', $6)",
            request_id, claim_id, submission_id, trace_number, trigger, now)

    async def status_asks(self, claim_id: str, submission_id: str) -> tuple[int, datetime | None]:
        """The automatic requests about this submission, and when the claim was last asked about."""
        row = await self.conn.fetchrow(
            "SELECT count(*) FILTER (WHERE submission_id = $2 AND trigger = 'follow_up') AS asks,"
            " max(queued_at) AS last FROM claim_status_requests WHERE claim_id = $1", claim_id, submission_id)
        return (int(row["asks"]), row["last"]) if row else (0, None)

    async def open_status_request(self, claim_id: str, submission_id: str) -> StatusRequestRow | None:
        """A request about this submission not answered yet (queued or sent), the latest."""
        row = await self.conn.fetchrow(
            "SELECT * FROM claim_status_requests WHERE claim_id = $1 AND submission_id = $2"
            " AND state IN ('pending', 'sent') ORDER BY queued_at DESC LIMIT 1", claim_id, submission_id)
        return _status_request(row) if row else None

    async def status_request(self, request_id: str) -> StatusRequestRow | None:
        row = await self.conn.fetchrow("SELECT * FROM claim_status_requests WHERE request_id = $1", request_id)
        return _status_request(row) if row else None

    async def status_request_by_trace(self, trace_number: str) -> StatusRequestRow | None:
        """The request a 277 answers (TRN02 echoed), locked for this transaction."""
        row = await self.conn.fetchrow(
            "SELECT * FROM claim_status_requests WHERE trace_number = $1 FOR UPDATE", trace_number)
        return _status_request(row) if row else None

    async def status_requests_of(self, claim_ids: Sequence[str]) -> list[StatusRequestRow]:
        rows = await self.conn.fetch(
            "SELECT * FROM claim_status_requests WHERE claim_id = ANY($1) ORDER BY queued_at, request_id",
            list(claim_ids))
        return [_status_request(r) for r in rows]

    async def pending_status_requests(self, limit: int = 500) -> list[StatusRequestRow]:
        """Queued requests, locked for this batch."""
        rows = await self.conn.fetch(
            "SELECT * FROM claim_status_requests WHERE state = 'pending' ORDER BY queued_at, request_id"
            " LIMIT $1 FOR UPDATE SKIP LOCKED", limit)
        return [_status_request(r) for r in rows]

    async def drop_status_request(self, request_id: str) -> None:
        await self.conn.execute(
            "DELETE FROM claim_status_requests WHERE request_id = $1 AND state = 'pending'", request_id)

    async def mark_status_sent(self, request_ids: Sequence[str], icn: str, file_name: str, now: datetime) -> None:
        await self.conn.execute(
            "UPDATE claim_status_requests SET state = 'sent', interchange_control_number = $2, file_name = $3,"
            " sent_at = $4 WHERE request_id = ANY($1)", list(request_ids), icn, file_name, now)

    async def answer_status_request(self, request_id: str, *, answer_file: str, answer: dict[str, Any],
                                    outcome: str, action: str, next_check_on: date | None, now: datetime) -> None:
        await self.conn.execute(
            "UPDATE claim_status_requests SET state = 'answered', answered_at = $2, answer_file = $3,"
            " answer = $4::text::jsonb, outcome = $5, action = $6, next_check_on = $7 WHERE request_id = $1",
            request_id, now, answer_file, _json(answer), outcome, action, next_check_on)

    async def status_requests_in_interchange(self, icn: str) -> list[StatusRequestRow]:
        """The sent requests of a 276 interchange (ISA13 = GS06: an acknowledgment may drop the zeros)."""
        rows = await self.conn.fetch(
            "SELECT * FROM claim_status_requests WHERE state = 'sent'"
            " AND ltrim(interchange_control_number, '0') = ltrim($1, '0') ORDER BY request_id FOR UPDATE", icn)
        return [_status_request(r) for r in rows]

    async def reject_status_requests(self, request_ids: Sequence[str], answer_file: str, detail: dict[str, Any],
                                     now: datetime) -> None:
        await self.conn.execute(
            "UPDATE claim_status_requests SET state = 'rejected', answered_at = $2, answer_file = $3,"
            " answer = $4::text::jsonb, action = 'none' WHERE request_id = ANY($1)",
            list(request_ids), now, answer_file, _json(detail))

    async def status_checks_due(self, today: date, limit: int = 100) -> list[StatusRequestRow]:
        """Answered requests whose next step (ask again, resubmit) is due, locked for this pass."""
        rows = await self.conn.fetch(
            "SELECT * FROM claim_status_requests WHERE state = 'answered' AND acted_at IS NULL"
            " AND next_check_on <= $1 ORDER BY next_check_on, request_id LIMIT $2 FOR UPDATE SKIP LOCKED",
            today, limit)
        return [_status_request(r) for r in rows]

    async def mark_status_acted(self, request_id: str, now: datetime) -> None:
        await self.conn.execute(
            "UPDATE claim_status_requests SET acted_at = $2 WHERE request_id = $1", request_id, now)

    async def acknowledged_since(self, submission_id: str, since: datetime) -> bool:
        """Whether a TA1, 999 or 277CA about this submission came after `since`."""
        return bool(await self.conn.fetchval(
            "SELECT 1 FROM acknowledgments WHERE matched_submission_id = $1 AND kind IN ('TA1', '999', '277CA')"
            " AND received_at > $2 LIMIT 1", submission_id, since))

    async def ack_seen(self, sha256: str) -> bool:
        return bool(await self.conn.fetchval("SELECT 1 FROM acknowledgments WHERE sha256 = $1 LIMIT 1", sha256))

    async def save_ack(self, *, file_name: str, sha256: str, kind: str, reference: str,
                       outcome: str, submission_id: str | None, flagged: bool, detail: dict[str, Any],
                       now: datetime) -> None:
        await self.save_acks([AckRow(file_name, sha256, kind, reference, outcome, submission_id, flagged, detail,
                                     now)])

    async def save_acks(self, acks: Sequence[AckRow]) -> None:
        """Acknowledgment rows in this order, in one pipelined round trip."""
        if acks:
            await self.conn.executemany(
                "INSERT INTO acknowledgments (file_name, sha256, kind, reference, outcome, matched_submission_id,"
                " flagged, detail, received_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8::text::jsonb, $9)",
                [(a.file_name, a.sha256, a.kind, a.reference, a.outcome, a.submission_id, a.flagged, _json(a.detail),
                  a.now) for a in acks])

    async def flagged_acks(self) -> list[dict[str, Any]]:
        rows = await self.conn.fetch("SELECT id, file_name, kind, reference, outcome, detail, received_at"
                                     " FROM acknowledgments WHERE flagged ORDER BY id")
        return [{**dict(r), "detail": _load(r["detail"])} for r in rows]

    async def audit_primary_totals(self) -> tuple[dict[str, Decimal], set[str]]:
        """For the audit: per encounter, the total of its current primary claims (the latest claim of
        each family that is not voided or replaced), and the encounters whose latest revision is
        not assembled yet (not a difference: still in the bill hold or waiting for a charge)."""
        rows = await self.conn.fetch(
            "SELECT c.encounter_id, sum(c.total_charge) AS total FROM claims c"
            " WHERE c.coverage_rank = 1 AND c.origin IN ('original', 'replacement')"
            " AND c.state NOT IN ('corrected', 'voided')"
            " AND NOT EXISTS (SELECT 1 FROM claims n WHERE n.claim_family_id = c.claim_family_id"
            "   AND n.coverage_rank = 1 AND n.origin IN ('original', 'replacement') AND n.created_at > c.created_at)"
            " GROUP BY c.encounter_id"
        )
        pending = await self.conn.fetch("SELECT encounter_id FROM encounters WHERE assembled_revision < revision")
        return {r["encounter_id"]: r["total"] for r in rows}, {r["encounter_id"] for r in pending}

    async def audit_unsent_primaries(self) -> set[str]:
        """For the audit: encounters whose current primary claim has not been sent to the payer yet
        (remits books a charge when it is billed: until then the two may differ)."""
        rows = await self.conn.fetch(
            "SELECT DISTINCT c.encounter_id FROM claims c WHERE c.coverage_rank = 1"
            " AND c.origin IN ('original', 'replacement') AND c.state IN ('created', 'held', 'ready')"
            " AND NOT EXISTS (SELECT 1 FROM claims n WHERE n.claim_family_id = c.claim_family_id"
            "   AND n.coverage_rank = 1 AND n.origin IN ('original', 'replacement') AND n.created_at > c.created_at)")
        return {r["encounter_id"] for r in rows}

    # --- eligibility checks ---------------------------------------------------------------------

    async def add_check(self, c: CheckRow) -> None:
        await self.conn.execute(
            f"INSERT INTO eligibility_checks ({', '.join(_CHECK_COLUMNS)}) VALUES ({_CHECK_PARAMS})",
            *[(_json(v) if v is not None else None) if k in {"answer", "inquiry"} else v
              for k, v in ((k, getattr(c, k)) for k in _CHECK_COLUMNS)])

    async def fresh_answer(self, payer_id: str, member_id: str, service_date: date,
                           since: datetime) -> CheckRow | None:
        """The latest answer a payer's 271 gave for this member and date since `since` (the cache)."""
        row = await self.conn.fetchrow(
            f"SELECT {_CHECK_SELECT} FROM eligibility_checks WHERE source = '271' AND payer_id = $1"
            " AND member_id = $2 AND service_date = $3 AND answered_at >= $4 ORDER BY answered_at DESC LIMIT 1",
            payer_id, member_id, service_date, since)
        return None if row is None else _check(row)

    async def checks_to_send(self, limit: int = 500) -> list[CheckRow]:
        """Pending checks, locked for this batch."""
        rows = await self.conn.fetch(
            f"SELECT {_CHECK_SELECT} FROM eligibility_checks WHERE state = 'pending'"
            " ORDER BY requested_at, check_id LIMIT $1 FOR UPDATE SKIP LOCKED", limit)
        return [_check(r) for r in rows]

    async def mark_checks_sent(self, check_ids: Sequence[str], icn: str, now: datetime) -> None:
        await self.conn.execute(
            "UPDATE eligibility_checks SET state = 'sent', sent_at = $3, interchange_control_number = $2"
            " WHERE check_id = ANY($1)", list(check_ids), icn, now)

    async def checks_by_trace(self, trace_numbers: Sequence[str]) -> dict[str, CheckRow]:
        """The checks these trace numbers name, locked (an answer and a timeout never both apply)."""
        rows = await self.conn.fetch(
            f"SELECT {_CHECK_SELECT} FROM eligibility_checks WHERE trace_number = ANY($1) ORDER BY check_id"
            " FOR UPDATE", list(trace_numbers))
        return {r["trace_number"]: _check(r) for r in rows}

    async def open_checks_in_interchange(self, icn: str) -> list[CheckRow]:
        """The checks a 270 interchange carried that are still waiting, locked (a 271 may drop the
        leading zeros of the BHT03 that names it)."""
        rows = await self.conn.fetch(
            f"SELECT {_CHECK_SELECT} FROM eligibility_checks WHERE state = 'sent'"
            " AND ltrim(interchange_control_number, '0') = ltrim($1, '0') ORDER BY check_id FOR UPDATE", icn)
        return [_check(r) for r in rows]

    async def overdue_checks(self, requested_before: datetime, limit: int = 500) -> list[CheckRow]:
        """Checks still waiting for a 271 that were asked before `requested_before`, locked."""
        rows = await self.conn.fetch(
            f"SELECT {_CHECK_SELECT} FROM eligibility_checks WHERE state IN ('pending', 'sent')"
            " AND requested_at <= $1 ORDER BY requested_at, check_id LIMIT $2 FOR UPDATE SKIP LOCKED",
            requested_before, limit)
        return [_check(r) for r in rows]

    async def answer_check(self, check_id: str, state: CheckState, source: EligibilitySource,
                           outcome: EligibilityOutcome, answer: dict[str, Any], now: datetime) -> None:
        await self.conn.execute(
            "UPDATE eligibility_checks SET state = $2, source = $3, outcome = $4, answer = $5::text::jsonb,"
            " answered_at = $6 WHERE check_id = $1", check_id, state, source, outcome, _json(answer), now)

    async def get_check(self, check_id: str) -> CheckRow | None:
        row = await self.conn.fetchrow(f"SELECT {_CHECK_SELECT} FROM eligibility_checks WHERE check_id = $1",
                                       check_id)
        return None if row is None else _check(row)

    async def checks_of_encounter(self, encounter_id: str) -> list[CheckRow]:
        rows = await self.conn.fetch(
            f"SELECT {_CHECK_SELECT} FROM eligibility_checks WHERE encounter_id = $1"
            " ORDER BY requested_at, coverage_rank, check_id", encounter_id)
        return [_check(r) for r in rows]

    async def latest_checks(self, encounter_ids: Sequence[str]) -> dict[tuple[str, int, str], CheckRow]:
        """The latest check of each coverage and payer of these encounters (what their claims wait on)."""
        rows = await self.conn.fetch(
            f"SELECT DISTINCT ON (encounter_id, coverage_rank, payer_id) {_CHECK_SELECT} FROM eligibility_checks"
            " WHERE encounter_id = ANY($1) ORDER BY encounter_id, coverage_rank, payer_id, requested_at DESC,"
            " check_id DESC", list(dict.fromkeys(encounter_ids)))
        checks = [_check(r) for r in rows]
        return {c.key: c for c in checks}

    async def emit(self, event: Event, now: datetime) -> None:
        """The event into the outbox, in this transaction."""
        await self.emit_all([outbox.traced(event, now)])

    async def emit_all(self, events: Sequence[outbox.Traced]) -> None:
        """The events (each with when it occurred and its trace) into the outbox in this order, one
        statement."""
        await outbox.enqueue_many(self.conn, events)

    async def audit(self, *, actor: str, action: str, subject: str, reason: str, details: dict[str, Any]) -> None:
        await audit.record(self.conn, actor=actor, action=action, subject=subject, reason=reason, details=details)


@dataclass(frozen=True)
class _AccountClaim:
    """What the duplicate edit reads of a stored claim of a patient account."""

    claim_id: str
    claim_family_id: str
    payer_id: str
    frequency: str
    state: str
    lines: list[LineKey]


def _bills(claim: _AccountClaim | Claim, payer_id: str, exclude_family: str) -> bool:
    """Does the claim bill its lines to this payer outside this family (billed_lines' filter)?"""
    return (claim.payer_id == payer_id and claim.claim_family_id != exclude_family and claim.frequency == "1"
            and claim.state not in NOT_BILLED_STATES)


class ClaimsUnit(ClaimsStore):
    """The claims store of one consumer transaction (services/claims/service/unit.py): an identity
    map of the claims, encounters and charges it reads, and its writes buffered, then written
    by `flush` in one statement per table (before the commit, and before any read that
    depends on them).

    Every claim read or saved here is kept by id: the same object for every handler of the
    transaction, validated once; claims locked (FOR UPDATE) are noted so that a locking read of
    one read unlocked reads it again. Encounters are locked in id order (`lock_encounters`), and
    a release is decided on the locked row: written at `flush` (an insert that finds the row
    inserted meanwhile fails the transaction, to be retried on a fresh read). Families and
    patient accounts read whole (`load_families`, `load_accounts`) answer `family` and the
    duplicate edit's `billed_lines` from here, overlaid with this transaction's own claims; a
    family or an account not read whole is read from the database after a `flush`, as the
    plain store reads it."""

    def __init__(self, conn: asyncpg.Connection) -> None:
        super().__init__(conn)
        self._claims: dict[str, Claim] = {}
        self._locked: set[str] = set()
        self._families: set[str] = set()
        self._accounts: dict[str, list[_AccountClaim]] = {}
        # Encounters locked by this transaction; None: not stored when locked.
        self._encounters: dict[str, EncounterRow | None] = {}
        self._stored: set[str] = set()  # of those, the ones that have a row (an update, not an insert)
        self._released: dict[str, datetime] = {}  # encounters with a release to write: when released
        self._assembled: set[str] = set()  # encounters with an assembled revision to write
        self._new_charges: list[tuple[StoredCharge, str]] = []  # with the encounter id
        self._saves: dict[str, bool] = {}  # claims to write: True to insert
        self._history: list[tuple[str, str, HistoryRow]] = []
        self._dropped: set[str] = set()  # claims whose pending submissions to delete
        self._submissions: list[tuple[str, str, str, datetime]] = []

    # --- reads ----------------------------------------------------------------------------------

    def _claim(self, row: asyncpg.Record, *, locked: bool) -> Claim:
        claim_id = row["claim_id"]
        kept = self._claims.get(claim_id)
        if kept is not None and (claim_id in self._locked or not locked):
            return kept
        claim = self._claims[claim_id] = _claim(row)
        if locked:
            self._locked.add(claim_id)
        return claim

    async def get_claim(self, claim_id: str, lock: bool = True) -> Claim | None:
        kept = self._claims.get(claim_id)
        if kept is not None and (claim_id in self._locked or not lock):
            return kept
        return await super().get_claim(claim_id, lock)

    async def claims_for_update(self, claim_ids: Sequence[str]) -> dict[str, Claim]:
        unlocked = [c for c in dict.fromkeys(claim_ids) if c not in self._locked]
        if unlocked:
            await super().claims_for_update(unlocked)
        return {c: self._claims[c] for c in claim_ids if c in self._locked}

    async def claims_of_encounter(self, encounter_id: str) -> list[Claim]:
        await self.flush()
        return await super().claims_of_encounter(encounter_id)

    async def family(self, family_id: str) -> list[Claim]:
        if family_id not in self._families:
            await self.load_families([family_id])
        return sorted((c for c in self._claims.values() if c.claim_family_id == family_id),
                      key=lambda c: (c.created_at, c.claim_id))

    async def load_families(self, family_ids: Sequence[str]) -> None:
        """Read the claims of these families (not locked) into the map, in one statement."""
        unread = [f for f in dict.fromkeys(family_ids) if f not in self._families]
        if unread:
            await self.flush()
            await super().families(unread)
            self._families.update(unread)

    async def load_accounts(self, patient_account_ids: Sequence[str]) -> None:
        """Read what the duplicate edit needs of the claims of these patient accounts, in one statement."""
        unread = [a for a in dict.fromkeys(patient_account_ids) if a not in self._accounts]
        if not unread:
            return
        await self.flush()
        rows = await self.conn.fetch(
            "SELECT claim_id, claim_family_id, patient_account_id, payer_id, frequency, state,"
            f" CASE WHEN {_PROFESSIONAL} THEN doc->'lines' ELSE '[]'::jsonb END AS lines"
            " FROM claims WHERE patient_account_id = ANY($1)", unread)
        self._accounts.update((a, []) for a in unread)
        for r in rows:
            self._accounts[r["patient_account_id"]].append(_AccountClaim(
                r["claim_id"], r["claim_family_id"], r["payer_id"], r["frequency"], r["state"],
                _line_keys(r["lines"])))

    async def billed_lines(self, patient_account_id: str, payer_id: str,
                           exclude_family: str) -> frozenset[LineKey]:
        stored = self._accounts.get(patient_account_id)
        if stored is None:
            await self.flush()
            return await super().billed_lines(patient_account_id, payer_id, exclude_family)
        # The claims of this transaction as it left them, then the others as read.
        keys = {LineKey(line.code, tuple(line.modifiers), line.service_date)
                for c in self._claims.values() if c.patient_account_id == patient_account_id
                and _bills(c, payer_id, exclude_family) and c.draft.claim_type == "professional"
                for line in c.draft.lines}
        keys.update(key for c in stored if c.claim_id not in self._claims and _bills(c, payer_id, exclude_family)
                    for key in c.lines)
        return frozenset(keys)

    async def history(self, family_id: str) -> list[HistoryEntry]:
        await self.flush()
        return await super().history(family_id)

    async def load_charges(self, charge_ids: Sequence[str]) -> None:
        await self._charge_rows(charge_ids)

    async def lock_encounters(self, encounter_ids: Sequence[str]) -> None:
        """Lock the encounters not locked yet, in id order, in one statement."""
        unlocked = sorted(e for e in set(encounter_ids) if e not in self._encounters)
        if not unlocked:
            return
        rows = await self.conn.fetch(
            "SELECT encounter_id, patient_account_id, revision, ready::text AS ready, assemble_after,"
            " assembled_revision FROM encounters WHERE encounter_id = ANY($1) ORDER BY encounter_id FOR UPDATE",
            unlocked)
        self._encounters.update(dict.fromkeys(unlocked))
        self._encounters.update((r["encounter_id"], _encounter(r)) for r in rows)
        self._stored.update(r["encounter_id"] for r in rows)

    async def get_encounter(self, encounter_id: str, lock: bool = False) -> EncounterRow | None:
        if lock:
            await self.lock_encounters([encounter_id])
        if encounter_id in self._encounters:
            return self._encounters[encounter_id]
        return await super().get_encounter(encounter_id)

    # --- writes, buffered -------------------------------------------------------------------------

    async def save_encounter(self, ready: EncounterReadyToBill, released_at: datetime,
                             assemble_after: datetime) -> EncounterRow | None:
        await self.lock_encounters([ready.encounter_id])
        now = self._encounters[ready.encounter_id]
        if now is not None and now.revision >= ready.revision:
            return None
        row = self._encounters[ready.encounter_id] = EncounterRow(
            ready.encounter_id, ready.patient_account_id, ready.revision, ready, assemble_after,
            now.assembled_revision if now is not None else 0)
        self._released[ready.encounter_id] = released_at
        return row

    async def mark_assembled(self, encounter_id: str, revision: int) -> None:
        await self.lock_encounters([encounter_id])
        row = self._encounters[encounter_id]
        if row is not None:
            self._encounters[encounter_id] = dataclasses.replace(row, assembled_revision=revision)
            self._assembled.add(encounter_id)

    async def save_charge(self, charge: ChargePosted) -> None:
        await self._charge_rows([charge.charge_id])
        if self._charges[charge.charge_id] is None:  # stored already: as the plain store, nothing to do
            stored = self._charges[charge.charge_id] = StoredCharge(
                charge.charge_id, False, charge.model_dump_json(), charge)
            self._new_charges.append((stored, charge.encounter_id))

    async def reverse_charge(self, charge_id: str) -> bool:
        await self.flush()
        return await super().reverse_charge(charge_id)

    async def save_claims(self, claims: Sequence[tuple[Claim, Sequence[HistoryRow]]], *, new: bool = False) -> None:
        _traced(claims, new)
        for claim, rows in claims:
            self._claims[claim.claim_id] = claim
            self._locked.add(claim.claim_id)  # ours: created here, or saved after a locking read
            self._saves.setdefault(claim.claim_id, new)
            self._history.extend((claim.claim_id, claim.claim_family_id, row) for row in rows)

    async def add_history_rows(self, rows: Sequence[tuple[str, str, HistoryRow]]) -> None:
        self._history.extend(rows)

    async def add_submission(self, submission_id: str, claim_id: str, frequency: str, now: datetime) -> None:
        self._submissions.append((submission_id, claim_id, frequency, now))

    async def drop_pending(self, claim_id: str) -> None:
        self._submissions = [s for s in self._submissions if s[1] != claim_id]
        self._dropped.add(claim_id)

    async def flush(self) -> None:
        """Write what is buffered, one statement per table (what has nothing to write sends nothing)."""
        await self._write_charges()
        await self._write_encounters()
        saves, self._saves = self._saves, {}
        for new in (True, False):
            rows = [_columns(self._claims[c]) for c, is_new in saves.items() if is_new is new]
            if rows:
                await self.conn.executemany(_INSERT_CLAIM if new else _UPDATE_CLAIM, rows)
        history, self._history = self._history, []
        await super().add_history_rows(history)
        dropped, self._dropped = self._dropped, set()
        if dropped:
            await self.conn.execute("DELETE FROM submissions WHERE claim_id = ANY($1) AND status = 'pending'",
                                    list(dropped))
        submissions, self._submissions = self._submissions, []
        if submissions:
            await self.conn.execute(
                "INSERT INTO submissions (submission_id, claim_id, frequency, status, queued_at)"
                " SELECT s, c, f, 'pending', q FROM unnest($1::text[], $2::text[], $3::text[], $4::timestamptz[])"
                " WITH ORDINALITY AS u(s, c, f, q, n) ORDER BY u.n",
                *map(list, zip(*submissions, strict=True)))

    async def _write_charges(self) -> None:
        new, self._new_charges = self._new_charges, []
        if new:
            await self.conn.execute(
                "INSERT INTO charges (charge_id, encounter_id, line) SELECT c, e, l::jsonb"
                " FROM unnest($1::text[], $2::text[], $3::text[]) AS u(c, e, l) ON CONFLICT (charge_id) DO NOTHING",
                [c.charge_id for c, _ in new], [e for _, e in new], [c.line for c, _ in new])

    async def _write_encounters(self) -> None:
        written = list(self._released) + [e for e in self._assembled if e not in self._released]
        released, self._released, self._assembled = self._released, {}, set()
        rows = [row for row in map(self._encounters.get, written) if row is not None]
        inserts = [r for r in rows if r.encounter_id not in self._stored]
        updates = [r for r in rows if r.encounter_id in self._stored]
        if inserts:
            inserted = await self.conn.fetch(
                "INSERT INTO encounters (encounter_id, patient_account_id, revision, ready, released_at,"
                " assemble_after, assembled_revision) SELECT i, p, r, j::jsonb, ra, aa, ar FROM unnest($1::text[],"
                " $2::text[], $3::int[], $4::text[], $5::timestamptz[], $6::timestamptz[], $7::int[])"
                " AS u(i, p, r, j, ra, aa, ar) ON CONFLICT (encounter_id) DO NOTHING RETURNING encounter_id",
                [r.encounter_id for r in inserts], [r.patient_account_id for r in inserts],
                [r.revision for r in inserts], [r.ready.model_dump_json() for r in inserts],
                [released[r.encounter_id] for r in inserts], [r.assemble_after for r in inserts],
                [r.assembled_revision for r in inserts])
            if len(inserted) != len(inserts):
                # Stored by another transaction since the lock found none: decided on a stale read.
                raise TransientError("an encounter was released concurrently")
            self._stored.update(r.encounter_id for r in inserts)
        if updates:
            # A release writes the row (not its patient account, as the plain store's upsert);
            # an assembly alone writes its assembled revision.
            fresh = [r if r.encounter_id in released else None for r in updates]
            await self.conn.execute(
                "UPDATE encounters e SET revision = coalesce(u.r, e.revision), ready = coalesce(u.j::jsonb, e.ready),"
                " released_at = coalesce(u.ra, e.released_at), assemble_after = coalesce(u.aa, e.assemble_after),"
                " assembled_revision = u.ar FROM unnest($1::text[], $2::int[], $3::text[], $4::timestamptz[],"
                " $5::timestamptz[], $6::int[]) AS u(i, r, j, ra, aa, ar) WHERE e.encounter_id = u.i",
                [r.encounter_id for r in updates], [f and f.revision for f in fresh],
                [f and f.ready.model_dump_json() for f in fresh],
                [released.get(r.encounter_id) for r in updates], [f and f.assemble_after for f in fresh],
                [r.assembled_revision for r in updates])
