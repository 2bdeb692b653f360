"""The sandbox clearinghouse: answers each 837 (837P or 837I) in outbound/ with a 999 and a 277CA in
inbound/acks/, then, after each payer's delay, 835s in inbound/remits/; answers each 270 with a
271 in inbound/eligibility/ (``answer_270``; a 270 it cannot read gets a 999 R in inbound/acks/). A TA1 answers the
interchange itself when its ISA14 asks for one (A 000), or rejects an interchange whose ISA reads
but whose content does not (R 024).

* ``answer_837`` is the whole decision for one file (no I/O apart from ``state``): a 999 for
  every functional group (transaction sets with envelope, syntax or content errors are rejected
  with IK3/IK4/IK5 R and get no 277CA), a 277CA for the claims of accepted sets, and the
  adjudicated 835s (one per payer; crossover 835s from the secondary payer come later). Each
  transaction set is read as an 837P or an 837I by its implementation reference (ST03, else
  GS08); any other is rejected (IK5 R, IK502 I6: implementation convention not supported).
* ``answer_file`` picks the answer by the file's first ST01: ``answer_270``, ``answer_276``, else
  ``answer_837``.
* ``answer_276`` answers a claim status request (276) with a 277 in inbound/status/
  (``sandbox.claim_status`` decides each claim's STC); a silent claim's 835 is withheld until then.
* ``Sandbox`` polls the folder, waits the acknowledgment delay, writes acks at once and parks
  835s under the state folder until they are due (withheld ones until a 276 releases them), so
  a restart loses nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

from edi import validate
from edi.segments import is_digits, parse_segments, read_delimiters
from edi.ta1 import InterchangeAck, InterchangeAckCode, write_ta1
from edi.x12 import EnvelopeParams, FunctionalGroup, Interchange, TransactionSet, X12Error, read_interchange
from edi.x270 import IMPLEMENTATION as IMPLEMENTATION_270
from edi.x270 import Inquiry, read_270_interchange
from edi.x271 import render_271
from edi.x276 import IMPLEMENTATION as X212
from edi.x276 import StatusInquiry
from edi.x276 import read_transaction_set as x276_transaction
from edi.x277 import render_277
from edi.x277ca import write_277ca
from edi.x835 import write_835
from edi.x837 import IMPLEMENTATION_837P, ClaimBatch, read_837p_interchange
from edi.x837i import IMPLEMENTATION_837I, read_837i_interchange
from edi.x837i import ClaimBatch as InstitutionalBatch
from edi.x999 import ElementError, SegmentError, write_999
from sandbox.acknowledgments import ClaimDecision, TransactionFinding, acknowledge, acknowledge_interchange, build_277ca
from sandbox.adjudication import (
    AnyClaim,
    ClaimResult,
    SandboxState,
    adjudicate,
    adjudicate_crossover,
    build_835,
    front_end,
    issue_claim_number,
    payee_of,
    service_period,
)
from sandbox.claim_status import answer_inquiry as answer_status_inquiry
from sandbox.eligibility import answer_inquiry as answer_eligibility_inquiry
from sandbox.payers import PayerConfig
from services.chassis.clearinghouse import ExchangeFile, FolderClearinghouse
from services.chassis.logs import ids

log = logging.getLogger("sandbox.clearinghouse")

SENDER_ID = "SANDBOXCH"
SOURCE_NAME = "Revcycle Sandbox Clearinghouse"


@dataclass(frozen=True)
class OutFile:
    folder: str  # clearinghouse folder
    name: str
    text: str
    delay_s: float = 0.0  # after the acknowledgments
    withheld: bool = False  # an 835 parked until a 276 asks about its claim (sandbox.claim_status)


@dataclass
class Answer:
    acks: list[OutFile] = field(default_factory=list)
    remits: list[OutFile] = field(default_factory=list)
    rejected_sets: int = 0
    accepted_claims: int = 0
    rejected_claims: int = 0
    release: list[tuple[str, float]] = field(default_factory=list)  # withheld 835s now due after a delay


@dataclass(frozen=True, kw_only=True)
class Timing:
    ack_delay_s: float = 1.0
    remit_delay_s: float = 2.0


def _params(state: SandboxState, sender: str, receiver: str, now: datetime, usage: str = "T") -> EnvelopeParams:
    number = state.next_control_number()
    return EnvelopeParams(sender_id=sender, receiver_id=receiver or "REVCYCLE", interchange_control_number=number,
                          group_control_number=number, created=now, usage_indicator=usage if usage in "TP" else "T")


# --- the 999 ------------------------------------------------------------------------------------


def _syntax_code(error: X12Error) -> str:
    message = error.message
    if "segments" in message and "says" in message:
        return "4"  # number of included segments does not match actual count
    if "does not match" in message:
        return "3"  # transaction set control number in header and trailer do not match
    return "5"  # one or more segments in error


def _segment_error(ts: TransactionSet, position: int | None, segment_id: str | None, element: str | None,
                   element_code: str = "7") -> tuple[SegmentError, ...]:
    """An IK3 (and IK4 when the element is known) for an interchange segment position inside ``ts``."""
    first, last = ts.segments[0].position, ts.segments[-1].position
    if position is None or not first <= position <= last:
        return ()
    seg = ts.segments[position - first]
    elements: tuple[ElementError, ...] = ()
    if element and is_digits(element[len(seg.tag):]):
        elements = (ElementError(position=int(element[len(seg.tag):]), code=element_code),)
    return (SegmentError(segment_id=segment_id or seg.tag, position=position - first + 1,
                         code="8", element_errors=elements),)


Batch = ClaimBatch | InstitutionalBatch
_READERS: dict[str, Callable[[Interchange], Batch]] = {
    IMPLEMENTATION_837P: read_837p_interchange,
    IMPLEMENTATION_837I: read_837i_interchange,
}
_INQUIRY_READERS: dict[str, Callable[[Interchange], list[Inquiry]]] = {IMPLEMENTATION_270: read_270_interchange}
R = TypeVar("R")


def _findings(
    interchange: Interchange, set_id: str, readers: Mapping[str, Callable[[Interchange], R]],
) -> tuple[dict[str, TransactionFinding], dict[str, R]]:
    """Per transaction set (ST02): what is wrong with it, or what ``readers`` (by implementation)
    make of it: the typed batch of claims of an 837, the inquiries of a 276."""
    issues = validate.own_checks(interchange)
    findings: dict[str, TransactionFinding] = {}
    batches: dict[str, R] = {}
    for group in interchange.groups:
        for ts in group.transactions:
            if ts.id != set_id:
                findings[ts.control_number] = TransactionFinding(syntax_error_codes=("1",))
                continue
            reader = readers.get(ts.implementation)
            if reader is None:  # I6: implementation convention not supported
                findings[ts.control_number] = TransactionFinding(syntax_error_codes=("I6",))
                continue
            first, last = ts.segments[0].position, ts.segments[-1].position
            own = [i for i in issues if i.position is not None and first <= i.position <= last
                   and i.severity == "error"]
            if own:
                errors = tuple(e for i in own for e in _segment_error(ts, i.position, i.segment_id, i.element))
                findings[ts.control_number] = TransactionFinding(segment_errors=errors, syntax_error_codes=("5",))
                continue
            single = dataclasses.replace(interchange, groups=[dataclasses.replace(group, transactions=[ts])])
            try:
                batches[ts.control_number] = reader(single)
            except X12Error as exc:
                errors = _segment_error(ts, exc.position, exc.segment_id, None)
                findings[ts.control_number] = TransactionFinding(segment_errors=errors, syntax_error_codes=("5",))
    return findings, batches


def _fallback_group(text: str) -> tuple[FunctionalGroup, str] | None:
    """GS and ST headers of an interchange the envelope reader refused, so its sets can still be
    rejected in a 999; None when not even the segments can be found."""
    try:
        _, segments = parse_segments(text)
    except X12Error:
        return None
    gs = next((s for s in segments if s.tag == "GS"), None)
    if gs is None:
        return None
    sender = segments[0].el(6).strip() if segments and segments[0].tag == "ISA" else ""
    sets = [TransactionSet(s.el(1), s.el(2), s.el(3) or gs.el(8), [s]) for s in segments
            if s.tag == "ST" and s.el(2)]
    if not sets:
        return None
    group = FunctionalGroup(gs.el(1), gs.el(2), gs.el(3), gs.el(4), gs.el(5), gs.el(6), gs.el(8), sets)
    return group, sender


def _interchange_ack(text: str, code: InterchangeAckCode, note: str) -> tuple[InterchangeAck, str] | None:
    """A TA1 for the interchange whose ISA starts ``text``, with its sender; None without a
    readable ISA13."""
    try:
        delimiters = read_delimiters(text)
    except X12Error:
        return None
    start = text.index("ISA")
    isa = text[start:text.find(delimiters.segment, start)].split(delimiters.element)
    icn = isa[13] if len(isa) > 13 else ""
    if not (is_digits(icn) and len(icn) == 9):
        return None
    return InterchangeAck(icn, isa[9], isa[10], code, note), isa[6].strip()


def _unreadable(text: str, exc: X12Error, stem: str, state: SandboxState, now: datetime) -> Answer:
    """A 999 rejecting every set of an interchange the envelope reader refused, else a TA1 R."""
    answer = Answer()
    fallback = _fallback_group(text)
    if fallback is None:  # no set to acknowledge: the interchange itself is rejected, when it can be named
        rejection = _interchange_ack(text, InterchangeAckCode.REJECTED, "024")
        if rejection is not None:
            answer.acks.append(OutFile("inbound/acks", f"{stem}.ta1",
                                       write_ta1(rejection[0], _params(state, SENDER_ID, rejection[1], now))))
        return answer
    group, sender = fallback
    code = _syntax_code(exc)
    ack = acknowledge(group, {ts.control_number: TransactionFinding(syntax_error_codes=(code,))
                              for ts in group.transactions})
    answer.rejected_sets = len(group.transactions)
    answer.acks.append(OutFile("inbound/acks", f"{stem}.999", write_999(ack, _params(state, SENDER_ID, sender, now))))
    return answer


# --- one file -----------------------------------------------------------------------------------


def answer_837(
    text: str, stem: str, payers: Mapping[str, PayerConfig], state: SandboxState, *, seed: int, now: datetime,
    timing: Timing = Timing(),
) -> Answer:
    """Everything the clearinghouse and payers send back for one outbound file."""
    answer = Answer()
    try:
        interchange = read_interchange(text)
    except X12Error as exc:
        return _unreadable(text, exc, stem, state, now)
    findings, batches = _findings(interchange, "837", _READERS)
    answer.rejected_sets = len(findings)
    acks = acknowledge_interchange(interchange, findings)
    usage = interchange.usage_indicator
    if interchange.ack_requested == "1":
        requested = _interchange_ack(text, InterchangeAckCode.ACCEPTED, "000")
        assert requested is not None  # the interchange was read, so its ISA was
        params = _params(state, SENDER_ID, interchange.sender_id, now, usage)
        answer.acks.append(OutFile("inbound/acks", f"{stem}.ta1", write_ta1(requested[0], params)))
    answer.acks.append(OutFile("inbound/acks", f"{stem}.999",
                               write_999(acks, _params(state, SENDER_ID, interchange.sender_id, now, usage))))
    if not batches:
        return answer
    decisions: list[ClaimDecision] = []
    accepted: list[tuple[AnyClaim, str]] = []
    first_batch = next(iter(batches.values()))
    for batch in batches.values():
        for claim in batch.claims:
            decision = front_end(claim, payers, state)
            pccn = issue_claim_number(seed, claim, state) if decision.accepted else ""
            if decision.accepted:
                accepted.append((claim, pccn))
            person = claim.patient or claim.subscriber
            service_from, service_to = service_period(claim)
            decisions.append(ClaimDecision(
                patient_control_number=claim.submission_id, charge=claim.charge,
                service_from=service_from, service_to=service_to,
                patient_last_name=person.last_name, patient_first_name=person.first_name or "",
                member_id=claim.subscriber.member_id, provider_name=claim.billing_provider.name,
                provider_npi=claim.billing_provider.npi, accepted=decision.accepted, status=decision.status,
                payer_claim_control_number=pccn, clearinghouse_trace=f"{stem}-{len(decisions) + 1}"[:50],
                message=decision.message,
            ))
    answer.accepted_claims = len(accepted)
    answer.rejected_claims = len(decisions) - len(accepted)
    ack277 = build_277ca(decisions, source_name=SOURCE_NAME, source_id=SENDER_ID,
                         receiver_name=first_batch.submitter.name, receiver_id=first_batch.submitter.id,
                         batch_trace=first_batch.reference, reference=_reference(stem), created=now)
    answer.acks.append(OutFile("inbound/acks", f"{stem}.277",
                               write_277ca(ack277, _params(state, SENDER_ID, interchange.sender_id, now, usage))))
    today = now.date()
    results: list[tuple[AnyClaim, ClaimResult]] = []
    for claim, pccn in accepted:
        results.append((claim, adjudicate(claim, payers, state, seed=seed, pccn=pccn, today=today, batch=stem)))
    crossed = [(r.crossover.claim, adjudicate_crossover(r.crossover, payers, state, seed=seed, today=today,
                                                        batch=stem))
               for _, r in results if r.crossover is not None]
    answer.remits += _remits(results, payers, state, stem, "", now, interchange.sender_id, usage, timing, 1.0)
    answer.remits += _remits(crossed, payers, state, stem, "-crossover", now, interchange.sender_id, usage, timing,
                             2.0)
    return answer


def _read_inquiries(
    text: str, stem: str, state: SandboxState, now: datetime, set_id: str,
    readers: Mapping[str, Callable[[Interchange], list[R]]],
) -> tuple[Answer, Interchange | None, dict[str, list[R]]]:
    """An inquiry file (270, 276) read: the answer so far (a 999 rejecting the sets that do not
    read, a TA1/999 for an interchange that does not; nothing for a clean file), the interchange
    (None when it did not read) and the inquiries of each set that did."""
    try:
        interchange = read_interchange(text)
    except X12Error as exc:
        return _unreadable(text, exc, stem, state, now), None, {}
    answer = Answer()
    findings, read = _findings(interchange, set_id, readers)
    if findings:
        answer.rejected_sets = len(findings)
        answer.acks.append(OutFile("inbound/acks", f"{stem}.999", write_999(
            acknowledge_interchange(interchange, findings), _params(state, SENDER_ID, interchange.sender_id, now,
                                                                    interchange.usage_indicator))))
    return answer, interchange, read


def answer_270(
    text: str, stem: str, payers: Mapping[str, PayerConfig], state: SandboxState, *, seed: int, now: datetime,
    timing: Timing = Timing(),
) -> Answer:
    """A 271 in inbound/eligibility/ answering every inquiry of the sets that read, and, when
    some set does not, a 999 rejecting it in inbound/acks/ (a clean 270 gets no 999)."""
    del seed, timing  # the answers follow from the payers' terms and the state alone
    answer, interchange, read = _read_inquiries(text, stem, state, now, "270", _INQUIRY_READERS)
    if interchange is None:
        return answer
    usage = interchange.usage_indicator
    references = {ts.control_number: ts.body[0].el(3) for ts in interchange.transactions()}  # BHT03, echoed
    responses = [dataclasses.replace(answer_eligibility_inquiry(inquiry, payers, state), reference=references[control])
                 for control, inquiries in read.items() for inquiry in inquiries]
    if responses:
        answer.accepted_claims = len(responses)
        answer.acks.append(OutFile("inbound/eligibility", f"{stem}.271",
                                   render_271(responses, _params(state, SENDER_ID, interchange.sender_id, now, usage))))
    return answer


def _reference(stem: str) -> str:
    cleaned = "".join(c for c in stem if c.isalnum()) or "BATCH"
    return cleaned[:30]


def _remits(
    results: Sequence[tuple[AnyClaim, ClaimResult]], payers: Mapping[str, PayerConfig], state: SandboxState, stem: str,
    suffix: str, now: datetime, receiver: str, usage: str, timing: Timing, delay_factor: float,
) -> list[OutFile]:
    by_payer: dict[str, dict[str, list[tuple[AnyClaim, ClaimResult]]]] = {}
    for claim, result in results:
        by_payer.setdefault(result.payer_id, {}).setdefault(result.payee_npi, []).append((claim, result))
    out: list[OutFile] = []
    for payer_id, payees in by_payer.items():
        payer = payers[payer_id]
        delay = remit_delay(payer, timing) * delay_factor
        transactions = []
        for n, (_, items) in enumerate(payees.items(), start=1):
            trace = f"{_reference(stem)[:20]}{payer_id}{n}{suffix[1:2].upper()}"
            sent = []
            for claim, result in items:
                pccn = result.payments[-1].payer_claim_control_number  # after the reversal of a corrected claim
                asks = payer.behaviour.claim_status.withheld_asks(claim.subscriber.member_id)
                if asks is None:
                    sent.append(result)
                    state.claims[pccn]["remit_trace"] = trace
                    continue
                # A silent claim: its own 835, parked until a 276 asks (sandbox.claim_status).
                own_trace = f"{trace}W{len(out) + 1}"
                name = f"{stem}-{payer_id}-{claim.submission_id}{suffix}.835"
                state.claims[pccn].update(remit_trace=own_trace, withheld=name, pending_asks=asks)
                own = build_835(payer, payee_of(claim), [result], trace_number=own_trace, today=now.date())
                out.append(OutFile("inbound/remits", name, write_835([own], _params(state, payer_id, receiver, now,
                                                                                    usage)), delay, withheld=True))
            if sent:
                transactions.append(build_835(payer, payee_of(items[0][0]), sent, trace_number=trace,
                                              today=now.date()))
        if transactions:
            text = write_835(transactions, _params(state, payer_id, receiver, now, usage))
            out.append(OutFile("inbound/remits", f"{stem}-{payer_id}{suffix}.835", text, delay))
    return out


def remit_delay(payer: PayerConfig, timing: Timing) -> float:
    return payer.behaviour.remit_delay_s if payer.behaviour.remit_delay_s is not None else timing.remit_delay_s


# --- claim status (276 -> 277) ------------------------------------------------------------------


def _read_276(interchange: Interchange) -> list[StatusInquiry]:
    return [inquiry for ts in interchange.transactions() for inquiry in x276_transaction(ts)]


def answer_276(
    text: str, stem: str, payers: Mapping[str, PayerConfig], state: SandboxState, *, seed: int, now: datetime,
    timing: Timing = Timing(),
) -> Answer:
    """A 277 (005010X212) in inbound/status/ answering every inquiry of a 276 (``sandbox.claim_status``
    decides each answer); a 999 R in inbound/acks/ for a 276 that cannot be read. An answer that
    releases a withheld 835 lets it go after the payer's remit delay."""
    del seed  # the answers follow from the state alone
    answer, interchange, read = _read_inquiries(text, stem, state, now, "276", {X212: _read_276})
    if interchange is None:
        return answer
    usage = interchange.usage_indicator
    answers = [answer_status_inquiry(i, payers, state, today=now.date())
               for inquiries in read.values() for i in inquiries]
    if not answers:
        return answer
    answer.acks.append(OutFile("inbound/status", f"{stem}.277", render_277(
        [a.response for a in answers], _params(state, SENDER_ID, interchange.sender_id, now, usage))))
    answer.release += [(a.release, remit_delay(payers[a.response.payer_id], timing)) for a in answers if a.release]
    answer.accepted_claims = len(answers)
    return answer


# --- the polling loop ---------------------------------------------------------------------------

_WITHHELD = "withheld"  # the prefix of a parked 835 that is not due until released (never digits)
_ANSWERS = {"270": answer_270, "276": answer_276}
"""How the clearinghouse answers an outbound file, by its first transaction set (ST01); 837 otherwise."""


def transaction_set_id(text: str) -> str | None:
    """ST01 of the first transaction set; None when no ST can be found (``answer_837`` then
    answers what it can: a 999 or TA1 rejection)."""
    try:
        _, segments = parse_segments(text)
    except X12Error:
        return None
    return next((seg.el(1) for seg in segments if seg.tag == "ST"), None)


def answer_file(text: str, stem: str, payers: Mapping[str, PayerConfig], state: SandboxState, *, seed: int,
                now: datetime, timing: Timing = Timing()) -> Answer:
    """What comes back for one outbound file, by its first transaction set: a 270, a 276 or an 837."""
    answer = _ANSWERS.get(transaction_set_id(text) or "", answer_837)
    return answer(text, stem, payers, state, seed=seed, now=now, timing=timing)



class Sandbox:
    def __init__(
        self, root: Path, state_dir: Path, payers: Mapping[str, PayerConfig], *, seed: int = 42,
        timing: Timing = Timing(), now: Callable[[], datetime] = lambda: datetime.now(UTC),
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.exchange = FolderClearinghouse(root)
        self.state_dir = state_dir
        self.state_path = state_dir / "state.json"
        self.pending = state_dir / "pending"
        self.payers = payers
        self.seed = seed
        self.timing = timing
        self.now = now
        self.monotonic = monotonic
        self.first_seen: dict[str, float] = {}
        self.state = SandboxState()
        self.ready = False
        self.files_processed = 0

    def start(self) -> None:
        self.exchange.ensure_layout()
        self.pending.mkdir(parents=True, exist_ok=True)
        self.state = SandboxState.load(self.state_path)
        self.ready = True

    async def poll_once(self) -> int:
        """Answer the outbound files whose acknowledgment delay has passed and release the 835s
        that are due; returns how many files were written."""
        written = 0
        now_m = self.monotonic()
        for file in await self.exchange.list("outbound"):
            seen = self.first_seen.setdefault(file.name, now_m)
            if now_m - seen < self.timing.ack_delay_s:
                continue
            written += await self._process(file.name)
            self.first_seen.pop(file.name, None)
        written += await self._release_due()
        return written

    async def _process(self, name: str) -> int:
        file = ExchangeFile("outbound", name)
        text = (await self.exchange.read(file)).decode("utf-8", errors="replace")
        stem = name.rsplit(".", 1)[0] if "." in name else name
        now = self.now()
        try:
            answer = answer_file(text, stem, self.payers, self.state, seed=self.seed, now=now, timing=self.timing)
        except Exception as exc:  # a file we cannot answer must not stop the loop
            log.error("could not answer outbound file", extra=ids(file_id=name, error_class=type(exc).__name__))
            answer = Answer()
        due_base = now.timestamp()
        for remit in answer.remits:
            due_ms = int((due_base + remit.delay_s) * 1000)
            park = self.pending / (f"{_WITHHELD}--{remit.name}" if remit.withheld else f"{due_ms:015d}--{remit.name}")
            temp = park.with_name(park.name + ".part")
            temp.write_text(remit.text)
            temp.replace(park)
        for remit_name, delay_s in answer.release:
            withheld = self.pending / f"{_WITHHELD}--{remit_name}"
            if withheld.exists():  # a withheld 835 is a file like any parked one: a restart keeps it
                withheld.replace(self.pending / f"{int((due_base + delay_s) * 1000):015d}--{remit_name}")
        self.state.save(self.state_path)
        for ack in answer.acks:
            await self.exchange.write(ack.folder, ack.name, ack.text.encode())
        await self.exchange.archive(file)
        self.files_processed += 1
        log.info("outbound file answered", extra=ids(file_id=name, count=answer.accepted_claims,
                                                        reason=f"rejected_sets={answer.rejected_sets}"))
        return len(answer.acks)

    async def _release_due(self) -> int:
        now_ms = int(self.now().timestamp() * 1000)
        released = 0
        for park in sorted(self.pending.iterdir()):
            if park.name.endswith(".part") or "--" not in park.name:
                continue
            due, _, name = park.name.partition("--")
            if not is_digits(due) or int(due) > now_ms:
                continue
            await self.exchange.write("inbound/remits", name, park.read_bytes())
            park.unlink()
            released += 1
            log.info("835 released", extra=ids(file_id=name))
        return released

    async def run(self, stopping: asyncio.Event, interval_s: float = 1.0) -> None:
        if not self.ready:
            self.start()
        while not stopping.is_set():
            try:
                await self.poll_once()
            except Exception as exc:
                log.error("sandbox poll failed", extra=ids(error_class=type(exc).__name__))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stopping.wait(), timeout=interval_s)
