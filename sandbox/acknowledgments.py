"""What the sandbox clearinghouse says back about an 837 batch: the 999 for each functional group
(``acknowledge``, ``acknowledge_interchange``) and the 277CA for the claims it let through
(``build_277ca``). The codec (``edi``) reads and writes these transactions; building them from
findings and decisions is the acknowledging side's work, which only the sandbox does.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from edi.x12 import FunctionalGroup, Interchange
from edi.x277ca import (
    ACCEPTED_STATUS,
    ClaimAck,
    ClaimAckTransaction,
    PatientLevel,
    ProviderLevel,
    ReceiverLevel,
    SourceLevel,
    StatusCode,
    StatusInfo,
    Totals,
)
from edi.x999 import Ack999, AckCode, GroupAckCode, SegmentError, TransactionSetAck

# --- 999 ------------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class TransactionFinding:
    """What the acknowledging side found in one transaction set (keyed by its ST02)."""

    segment_errors: tuple[SegmentError, ...] = ()
    reject: bool = True  # False: accepted with errors (IK501 E)
    # IK502-IK506; defaults to 5 (one or more segments in error) when segment errors are given.
    syntax_error_codes: tuple[str, ...] = ()


def acknowledge(group: FunctionalGroup, findings: Mapping[str, TransactionFinding] | None = None) -> Ack999:
    """Build the 999 for a received functional group (e.g. an 837 batch).

    Transaction sets without a finding are accepted (IK501 A); AK9 is derived: A when all are
    accepted, E when all are accepted but some with errors, P when some are rejected, R when
    all are.
    """
    findings = findings or {}
    unknown = set(findings) - {ts.control_number for ts in group.transactions}
    if unknown:
        raise ValueError(f"findings name {len(unknown)} transaction set(s) not in the group")
    sets: list[TransactionSetAck] = []
    for ts in group.transactions:
        finding = findings.get(ts.control_number)
        if finding is None:
            sets.append(TransactionSetAck(set_id=ts.id, control_number=ts.control_number,
                                          implementation=ts.implementation, code=AckCode.ACCEPTED))
            continue
        codes = finding.syntax_error_codes or (("5",) if finding.segment_errors else ())
        if not codes:
            raise ValueError("a rejected transaction set needs segment errors or syntax error codes")
        sets.append(TransactionSetAck(
            set_id=ts.id, control_number=ts.control_number, implementation=ts.implementation,
            code=AckCode.REJECTED if finding.reject else AckCode.ACCEPTED_WITH_ERRORS,
            syntax_error_codes=codes, segment_errors=finding.segment_errors,
        ))
    accepted = sum(1 for s in sets if s.accepted)
    if accepted == len(sets):
        group_code = (GroupAckCode.ACCEPTED if all(s.code == AckCode.ACCEPTED for s in sets)
                      else GroupAckCode.ACCEPTED_WITH_ERRORS)
    else:
        group_code = GroupAckCode.PARTIALLY_ACCEPTED if accepted else GroupAckCode.REJECTED
    return Ack999(
        functional_id=group.functional_id, group_control_number=group.control_number, version=group.version,
        transaction_sets=tuple(sets), group_code=group_code, included_count=len(sets),
        received_count=len(sets), accepted_count=accepted,
    )


def acknowledge_interchange(
    interchange: Interchange, findings: Mapping[str, TransactionFinding] | None = None
) -> tuple[Ack999, ...]:
    """One 999 per functional group of a received interchange; ``findings`` is keyed by ST02,
    which is unique within a group (pass one interchange with one group when it is not)."""
    findings = findings or {}
    out: list[Ack999] = []
    for group in interchange.groups:
        own = {k: v for k, v in findings.items() if any(ts.control_number == k for ts in group.transactions)}
        out.append(acknowledge(group, own))
    claimed = {k for ack in out for k in (t.control_number for t in ack.transaction_sets)}
    if set(findings) - claimed:
        raise ValueError("findings name transaction set(s) not in the interchange")
    return tuple(out)


# --- 277CA ----------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class ClaimDecision:
    """What the acknowledging side decided about one submitted claim."""

    patient_control_number: str
    charge: Decimal
    service_from: date
    service_to: date | None = None
    patient_last_name: str
    patient_first_name: str = ""
    member_id: str
    provider_name: str
    provider_npi: str
    accepted: bool
    # Defaults: A2:20 accepted for processing; A7:21 rejected for missing or invalid information.
    status: StatusCode | None = None
    additional: tuple[StatusCode, ...] = ()
    payer_claim_control_number: str = ""
    clearinghouse_trace: str = ""
    message: str = ""


REJECTED_STATUS = StatusCode("A7", "21", "85")
RECEIVED_STATUS = StatusCode("A1", "19", "PR")


def build_277ca(
    decisions: Sequence[ClaimDecision],
    *,
    source_name: str,
    source_id: str,
    receiver_name: str,
    receiver_id: str,
    batch_trace: str,
    reference: str,
    created: datetime,
    received: date | None = None,
    source_entity: str = "PR",
    source_id_qualifier: str = "PI",
) -> ClaimAckTransaction:
    """One 277CA transaction acknowledging ``decisions`` (claims grouped by billing provider,
    then patient, in first-seen order), with receiver and provider totals filled in."""
    if not decisions:
        raise ValueError("a 277CA needs at least one claim")
    when = created.date()
    by_provider: dict[tuple[str, str], dict[tuple[str, str, str], list[ClaimDecision]]] = {}
    for d in decisions:
        patients = by_provider.setdefault((d.provider_name, d.provider_npi), {})
        patients.setdefault((d.patient_last_name, d.patient_first_name, d.member_id), []).append(d)
    providers: list[ProviderLevel] = []
    for (name, npi), patients in by_provider.items():
        members = [d for claims in patients.values() for d in claims]
        providers.append(ProviderLevel(
            name=name, id=npi, trace_number=f"{reference}-{len(providers) + 1}",
            statuses=(StatusInfo(code=StatusCode(RECEIVED_STATUS.category, RECEIVED_STATUS.status, "85"),
                                 action_code="WQ", amount=_total(members)),),
            totals=_totals(members),
            patients=tuple(
                PatientLevel(last_name=last, first_name=first, id=member,
                             claims=tuple(_claim_ack(d, when) for d in claims))
                for (last, first, member), claims in patients.items()
            ),
        ))
    receiver = ReceiverLevel(
        name=receiver_name, id=receiver_id, batch_trace=batch_trace,
        statuses=(StatusInfo(code=RECEIVED_STATUS, effective_date=when, action_code="WQ",
                             amount=_total(decisions)),),
        totals=_totals(decisions), providers=tuple(providers),
    )
    source = SourceLevel(entity=source_entity, name=source_name, id_qualifier=source_id_qualifier, id=source_id,
                         trace_number=reference, receipt_date=received or when, process_date=when, receiver=receiver)
    return ClaimAckTransaction(reference=reference, created=created, sources=(source,))


def _total(decisions: Sequence[ClaimDecision]) -> Decimal:
    return sum((d.charge for d in decisions), Decimal(0))


def _totals(decisions: Sequence[ClaimDecision]) -> Totals:
    accepted = [d for d in decisions if d.accepted]
    rejected = [d for d in decisions if not d.accepted]
    return Totals(accepted_quantity=Decimal(len(accepted)), rejected_quantity=Decimal(len(rejected)),
                  accepted_amount=_total(accepted), rejected_amount=_total(rejected))


def _claim_ack(d: ClaimDecision, when: date) -> ClaimAck:
    code = d.status or (ACCEPTED_STATUS if d.accepted else REJECTED_STATUS)
    status = StatusInfo(code=code, effective_date=when, action_code="WQ" if d.accepted else "U", amount=d.charge,
                        additional=d.additional, message=d.message)
    return ClaimAck(patient_control_number=d.patient_control_number, statuses=(status,),
                    payer_claim_control_number=d.payer_claim_control_number,
                    clearinghouse_trace=d.clearinghouse_trace, service_from=d.service_from,
                    service_to=d.service_to or d.service_from)
