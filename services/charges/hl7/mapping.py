"""HL7 v2.5 DFT^P03 (post detail financial transaction) and ADT^A01/A03/A04/A08 (admit,
discharge, register, update) -> intake events in their JSON form.

Pure: text in, event dicts out. The MLLP door (``services.charges.hl7.mllp``) validates the
dicts against the contracts and queues them; this module only maps fields, and locates the
HL7 field behind a contract error so the ACK can name it.

Errors never echo message content (it may be PHI): they name the segment, its occurrence
and the field, and carry an HL7 table 0357 code.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta, timezone, tzinfo
from decimal import Decimal, InvalidOperation
from typing import Any, Literal, ParamSpec, TypeVar

from schemas.common import is_inpatient_bill
from schemas.envelope import is_safe_token
from services.charges.domain.chargemaster import ChargemasterItem
from services.charges.hl7.codec import ErrorCode, Hl7Error, Hl7Location, Hl7MappingError, Segment, pick, tokenize
from services.charges.hl7.defaults import CLAIM_FILING_INDICATORS, Hl7Defaults

__all__ = [
    "ADT_TRIGGERS",
    "CHARGE_SUBMITTED",
    "ENCOUNTER_CLOSED",
    "ENCOUNTER_REGISTERED",
    "ENCOUNTER_UPDATED",
    "DftMapping",
    "MappedEvent",
    "chargemaster_codes",
    "contract_error",
    "map_dft_p03",
    "read_message",
]

ENCOUNTER_REGISTERED = "rcm.intake.EncounterRegistered.v1"
ENCOUNTER_UPDATED = "rcm.intake.EncounterUpdated.v1"
ENCOUNTER_CLOSED = "rcm.intake.EncounterClosed.v1"
CHARGE_SUBMITTED = "rcm.intake.ChargeSubmitted.v1"
ADT_TRIGGERS = ("A01", "A03", "A04", "A08")
"""Admit, discharge, register (an outpatient or emergency visit), update: the encounter without charges."""

_DTM = re.compile(r"^(\d{4})(\d{2})?(\d{2})?(\d{2})?(\d{2})?(\d{2})?(?:\.\d{1,4})?([+-]\d{4})?$", re.ASCII)
_NUMBER = re.compile(r"^[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)$")
_SET_ID = re.compile(r"^[0-9]{1,6}$")
_MAX_NUMBER_CHARS = 24
_CENT = Decimal("0.01")
_UNRANKED = 1_000_000
_MAX_DESCRIPTION = 80  # the contract's Text80
_MAX_ENCOUNTER_DIAGNOSES = 12  # the encounter's list (837P); the institutional claim takes 25


# --------------------------------------------------------------------------- mapping result


@dataclass(frozen=True)
class MappedEvent:
    type: str
    data: dict[str, Any]
    """The event in JSON form, as `schemas.registry.validate` takes it."""
    origin: Hl7Location
    """The segment the event stands for (PID for the encounter, an FT1 for a charge)."""


_Kind = Literal["encounter", "charge", "closed"]


@dataclass(frozen=True)
class DftMapping:
    control_id: str
    source_system: str
    source_encounter_id: str
    events: tuple[MappedEvent, ...]
    """Encounter event, one ChargeSubmitted per FT1 (none on an ADT), then EncounterClosed when a
    DFT or an ADT^A03 says the patient was discharged."""
    coverage_sources: tuple[int, ...] = ()
    """IN1 occurrence behind each coverage, by rank - 1."""
    diagnosis_sources: tuple[int, ...] = ()
    """DG1 occurrence behind each diagnosis, by position - 1."""
    guarantor_sequence: int | None = None
    """GT1 occurrence of the guarantor; None when the patient is their own guarantor."""
    errors: tuple[Hl7MappingError, ...] = ()
    """Every mapping error of the message, in message order. When there are any, the events
    are incomplete (a field that failed is left out) and must not be queued."""
    account_field: int = 18
    """The field the patient account number came from: PID-18, or its fallback (PID-3 or PV1-19)."""

    def with_encounter_type(self, event_type: str) -> DftMapping:
        """Registered -> Updated (the door's decision: the payload shape is the same)."""
        events = tuple(
            replace(ev, type=event_type) if ev.type in (ENCOUNTER_REGISTERED, ENCOUNTER_UPDATED) else ev
            for ev in self.events
        )
        return replace(self, events=events)

    def locate(self, index: int, field_path: str, error_type: str) -> Hl7Location:
        """The HL7 segment/field that produced a contract field of event `index`."""
        event = self.events[index]
        kind: _Kind = (
            "charge" if event.type == CHARGE_SUBMITTED else "closed" if event.type == ENCOUNTER_CLOSED else "encounter"
        )
        path = field_path
        if error_type == "rule_diagnosis_duplicate":
            # Name the DG1 that repeats an earlier code, not the DG1 list as a whole.
            codes = event.data.get("diagnoses")
            if isinstance(codes, list):
                repeat = next((i for i, c in enumerate(codes) if c in codes[:i]), None)
                if repeat is not None:
                    path = f"diagnoses[{repeat}]"
        suffix = None if path != field_path else _RULE_FIELDS.get(error_type)
        if suffix is not None:
            path = f"{path}.{suffix}" if path else suffix
        indices = [int(i) for i in re.findall(r"\[(\d+)\]", path)]
        key = re.sub(r"\[\d+\]", "[]", path)
        table = _FIELDS[kind]
        found: tuple[str, int | None] | None = None
        while key:
            found = table.get(key)
            if found is not None:
                break
            key = key[:-2] if key.endswith("[]") else key.rpartition(".")[0]
        if found is None:
            return event.origin
        segment, field_no = found
        if key == "patient.source_account_number" and self.account_field != 18:
            return Hl7Location("PV1" if self.account_field == 19 else "PID", 1, self.account_field)
        if kind == "charge" and segment == "FT1":
            return Hl7Location("FT1", event.origin.sequence, field_no)
        if segment == "IN1":
            sources = self.coverage_sources
            seq = sources[indices[0]] if indices and key.startswith("coverages[]") and indices[0] < len(sources) else 1
            return Hl7Location("IN1", seq, field_no)
        if segment == "DG1":
            sources = self.diagnosis_sources
            seq = sources[indices[0]] if indices and key == "diagnoses[]" and indices[0] < len(sources) else 1
            return Hl7Location("DG1", seq, field_no)
        if segment == "GT1":
            if self.guarantor_sequence is None:
                # The patient is their own guarantor: the values came from PID.
                return Hl7Location("PID", 1, _GUARANTOR_FROM_PID.get(field_no or 0))
            return Hl7Location("GT1", self.guarantor_sequence, field_no)
        return Hl7Location(segment, 1, field_no)


# Contract field path (indices as []) -> HL7 segment and field; the longest matching prefix wins.
_FIELDS: Mapping[_Kind, Mapping[str, tuple[str, int | None]]] = {
    "encounter": {
        "source_system": ("MSH", 3),
        "source_encounter_id": ("PV1", 19),
        "patient": ("PID", None),
        "patient.name": ("PID", 5),
        "patient.birth_date": ("PID", 7),
        "patient.sex": ("PID", 8),
        "patient.address": ("PID", 11),
        "patient.email": ("PID", 13),
        "patient.phone": ("PID", 13),
        "patient.contact_preference": ("PID", 13),
        "patient.source_account_number": ("PID", 18),
        "guarantor": ("GT1", None),
        "guarantor.name": ("GT1", 3),
        "guarantor.address": ("GT1", 5),
        "guarantor.email": ("GT1", 6),
        "guarantor.phone": ("GT1", 6),
        "guarantor.contact_preference": ("GT1", 6),
        "guarantor.relationship_to_patient": ("GT1", 11),
        "coverages": ("IN1", None),
        "coverages[]": ("IN1", None),
        "coverages[].rank": ("IN1", 1),
        "coverages[].payer_id": ("IN1", 3),
        "coverages[].payer_name": ("IN1", 4),
        "coverages[].group_number": ("IN1", 8),
        "coverages[].prior_authorization_numbers": ("IN1", 14),
        "coverages[].claim_filing_indicator": ("IN1", 15),
        "coverages[].relationship_to_subscriber": ("IN1", 17),
        "coverages[].subscriber": ("IN1", 17),
        "coverages[].subscriber.name": ("IN1", 16),
        "coverages[].subscriber.birth_date": ("IN1", 18),
        "coverages[].subscriber.address": ("IN1", 19),
        "coverages[].subscriber.sex": ("IN1", 43),
        "coverages[].member_id": ("IN1", 36),
        "rendering_provider": ("PV1", 7),
        "referring_provider": ("PV1", 8),
        "place_of_service": ("PV1", 2),
        "admission_date": ("PV1", 44),
        "discharge_date": ("PV1", 45),
        "diagnoses": ("DG1", None),
        "diagnoses[]": ("DG1", 3),
        "accident": ("ACC", None),
        "accident.occurred_on": ("ACC", 1),
        "accident.causes": ("ACC", 2),
        "accident.state": ("ACC", 4),
        "institutional": ("PV1", None),
        "institutional.type_of_bill": ("PV1", 2),
        "institutional.billing_provider": ("MSH", 3),
        "institutional.statement_from": ("PV1", 44),
        "institutional.statement_through": ("PV1", 45),
        "institutional.admission_hour": ("PV1", 44),
        "institutional.admission_type": ("PV1", 4),
        "institutional.admission_source": ("PV1", 14),
        "institutional.discharge_hour": ("PV1", 45),
        "institutional.patient_status": ("PV1", 36),
        "institutional.attending_provider": ("PV1", 7),
        "institutional.principal_diagnosis": ("DG1", 3),
        "institutional.principal_diagnosis.present_on_admission": ("DG1", 26),
        "institutional.admitting_diagnosis": ("DG1", 3),
        "institutional.other_diagnoses": ("DG1", 3),
        "institutional.other_diagnoses[].present_on_admission": ("DG1", 26),
        "institutional.principal_procedure": ("PR1", 3),
        "institutional.principal_procedure.performed_on": ("PR1", 5),
        "institutional.other_procedures": ("PR1", 3),
        "institutional.other_procedures[].performed_on": ("PR1", 5),
    },
    "charge": {
        "source_system": ("MSH", 3),
        "source_encounter_id": ("PV1", 19),
        "source_charge_id": ("FT1", 2),
        "idempotency_key": ("FT1", 2),
        "service_date": ("FT1", 4),
        "service_end_date": ("FT1", 4),
        "chargemaster_code": ("FT1", 7),
        "description": ("FT1", 8),
        "units": ("FT1", 10),
        "amount": ("FT1", 11),
        "unit_price": ("FT1", 12),
        "diagnosis_pointers": ("FT1", 19),
        "rendering_provider_npi": ("FT1", 20),
        "rendering_provider": ("FT1", 20),
        "ordering_provider": ("FT1", 21),
        "procedure_code": ("FT1", 25),
        "revenue_code": ("FT1", 7),
        "claim_type": ("FT1", 7),
        "modifiers": ("FT1", 26),
        "ndc": ("FT1", 29),
        "ndc_quantity": ("FT1", 43),
        "ndc_unit": ("FT1", 43),
    },
    "closed": {
        "source_system": ("MSH", 3),
        "source_encounter_id": ("PV1", 19),
        "closed_at": ("PV1", 45),
    },
}

# Cross-field rules report on the model, not a field: the field the sender must fix.
_RULE_FIELDS: Mapping[str, str] = {
    "rule_email_required": "email",
    "rule_subscriber_required": "relationship_to_subscriber",
    "rule_subscriber_forbidden": "relationship_to_subscriber",
    "rule_coverage_rank_order": "coverages",
    "rule_diagnosis_duplicate": "diagnoses",
    "rule_admission_required": "admission_date",
    "rule_discharge_before_admission": "discharge_date",
    "rule_idempotency_key_mismatch": "idempotency_key",
    "rule_code_choice": "procedure_code",
    "rule_modifier_duplicate": "modifiers",
    "rule_pointer_duplicate": "diagnosis_pointers",
    "rule_service_dates": "service_end_date",
    "rule_price_required": "amount",
    "rule_amount_mismatch": "amount",
    "rule_ndc_incomplete": "ndc_quantity",
    "rule_ndc_missing": "ndc",
    "rule_accident_state": "state",
    "rule_accident_cause_duplicate": "causes",
}

_GUARANTOR_FROM_PID: Mapping[int, int | None] = {3: 5, 5: 11, 6: 13, 11: None}


def contract_error(mapping: DftMapping, index: int, error: Mapping[str, str]) -> Hl7Error:
    """An ERR for one safe contract error ({field, type, message}) of event `index`."""
    etype = error.get("type", "")
    path = error.get("field", "")
    code: ErrorCode = "101" if etype == "missing" else "103" if etype in ("literal_error", "enum") else "102"
    location = mapping.locate(index, path, etype)
    return Hl7Error(location, code, error.get("message", "invalid value"), application_code=etype, diagnostic=path)


# --------------------------------------------------------------------------- error collection

_P = ParamSpec("_P")
_T = TypeVar("_T")


@dataclass
class _Errors:
    """Mapping errors gathered across the message: a sender fixes everything in one round trip
    instead of learning about one mistake per ACK."""

    found: list[Hl7MappingError] = field(default_factory=list)

    def add(self, err: Hl7MappingError) -> None:
        if not any((e.location, e.code) == (err.location, err.code) for e in self.found):
            self.found.append(err)

    def get(self, fn: Callable[_P, _T], *args: _P.args, **kwargs: _P.kwargs) -> _T | None:
        """fn's value, or None with the error recorded (the field is then left out)."""
        try:
            return fn(*args, **kwargs)
        except Hl7MappingError as err:
            self.add(err)
            return None


# --------------------------------------------------------------------------- field readers


def _number(seg: Segment, n: int, what: str, component: int = 1, sub: int = 1) -> Decimal | None:
    raw = seg.value(n, component, sub)
    if raw is None:
        return None
    if len(raw) > _MAX_NUMBER_CHARS or not _NUMBER.fullmatch(raw):
        raise Hl7MappingError(seg.name, seg.sequence, n, "102", f"{seg.name}-{n} must be a number ({what})")
    try:
        return Decimal(raw)
    except InvalidOperation:  # pragma: no cover - the pattern admits only decimal text
        raise Hl7MappingError(seg.name, seg.sequence, n, "102", f"{seg.name}-{n} must be a number ({what})") from None


def _money(seg: Segment, n: int) -> str | None:
    # CP: price is component 1, an MO whose quantity is subcomponent 1.
    amount = _number(seg, n, "an amount")
    if amount is None:
        return None
    if amount != amount.quantize(_CENT):
        raise Hl7MappingError(seg.name, seg.sequence, n, "102", f"{seg.name}-{n} must have at most 2 decimal places")
    return f"{amount.quantize(_CENT):f}"


def _quantity(seg: Segment, n: int) -> str | None:
    qty = _number(seg, n, "a quantity")
    return None if qty is None else f"{qty:f}"


def _parse_dtm(seg: Segment, n: int, raw: str, *, need_day: bool) -> tuple[date, datetime | None, bool]:
    """(date, datetime or None when no time part, has_offset)."""
    m = _DTM.fullmatch(raw)
    if m is None or (need_day and m.group(3) is None):
        raise Hl7MappingError(seg.name, seg.sequence, n, "102", f"{seg.name}-{n} must be a date YYYYMMDD[HHMM[SS]]")
    year, month, day, hour, minute, second, offset = m.groups()
    try:
        day_value = date(int(year), int(month or 1), int(day or 1))
        moment = None
        if hour is not None:
            tz: tzinfo | None = None
            if offset is not None:
                sign = 1 if offset[0] == "+" else -1
                tz = timezone(sign * timedelta(hours=int(offset[1:3]), minutes=int(offset[3:5])))
            moment = datetime(
                day_value.year, day_value.month, day_value.day, int(hour), int(minute or 0), int(second or 0), tzinfo=tz
            )
        elif offset is not None:
            timezone(timedelta(hours=int(offset[1:3]), minutes=int(offset[3:5])))  # range check only
    except ValueError:
        raise Hl7MappingError(seg.name, seg.sequence, n, "102", f"{seg.name}-{n} is not a valid date") from None
    return day_value, moment, offset is not None


def _date(seg: Segment, n: int, component: int = 1) -> str | None:
    raw = seg.value(n, component)
    if raw is None:
        return None
    day, _, _ = _parse_dtm(seg, n, raw, need_day=True)
    return day.isoformat()


def _datetime(seg: Segment, n: int, zone: tzinfo) -> tuple[str, str] | None:
    """(date, aware ISO date-time); a time without an offset is in the interface's zone."""
    raw = seg.value(n)
    if raw is None:
        return None
    day, moment, has_offset = _parse_dtm(seg, n, raw, need_day=True)
    if moment is None:
        moment = datetime(day.year, day.month, day.day, tzinfo=zone)
    elif not has_offset:
        moment = moment.replace(tzinfo=zone)
    return day.isoformat(), moment.isoformat()


def _sex(value: str | None) -> str:
    code = (value or "").upper()
    return code if code in ("M", "F") else "U"


def _compact(values: Mapping[str, Any]) -> dict[str, Any]:
    """Absent values are left out, so the contract reports them as missing (HL7 101)."""
    return {k: v for k, v in values.items() if v is not None}


def _name(rep: list[list[str]] | None) -> dict[str, Any] | None:
    # XPN: family (FN, surname in subcomponent 1) ^ given ^ middle ^ suffix.
    if not rep:
        return None
    name = _compact(
        {"family": pick(rep, 1, 1), "given": pick(rep, 2), "middle": pick(rep, 3), "suffix": pick(rep, 4)}
    )
    return name or None


def _preferred(reps: list[list[list[str]]], type_component: int, preferred: str) -> list[list[str]] | None:
    """The repetition whose type component is `preferred`, else the first."""
    for rep in reps:
        if (pick(rep, type_component) or "").upper() == preferred:
            return rep
    return reps[0] if reps else None


def _person_name(seg: Segment, n: int) -> dict[str, Any] | None:
    return _name(_preferred(seg.repetitions(n), 7, "L"))  # XPN-7 name type: L legal


def _address(seg: Segment, n: int) -> dict[str, Any] | None:
    # XAD: street (SAD, street in subcomponent 1) ^ other designation ^ city ^ state ^ zip ^ country ^ type.
    rep = _preferred(seg.repetitions(n), 7, "H")
    if not rep:
        return None
    state = pick(rep, 4)
    address = _compact(
        {
            "line1": pick(rep, 1, 1),
            "line2": pick(rep, 2),
            "city": pick(rep, 3),
            "state": state.upper() if state else None,
            "postal_code": pick(rep, 5),
        }
    )
    return address or None


def _telecom(seg: Segment, n: int) -> tuple[str | None, str | None]:
    """(email, phone in E.164) from an XTN field."""
    email: str | None = None
    phone: str | None = None
    for rep in seg.repetitions(n):
        use = (pick(rep, 2) or "").upper()
        equipment = (pick(rep, 3) or "").upper()
        if use == "NET" or equipment in ("INTERNET", "X.400") or pick(rep, 4):
            candidate = pick(rep, 4) or pick(rep, 1)
            if email is None and candidate:
                email = candidate
            continue
        if phone is None:
            phone = _e164(rep)
    return email, phone


def _e164(rep: list[list[str]]) -> str | None:
    area, local = pick(rep, 6), pick(rep, 7)
    if area or local:
        country = re.sub(r"\D", "", pick(rep, 5) or "1") or "1"
        return "+" + country + re.sub(r"\D", "", (area or "") + (local or ""))
    number = pick(rep, 1)
    if not number:
        return None
    # An extension ("x123", "ext 4") is not part of the number.
    number = re.split(r"[A-Za-z]", number, maxsplit=1)[0]
    digits = re.sub(r"\D", "", number)
    if not digits:
        return None
    if number.lstrip().startswith("+"):
        return "+" + digits
    if len(digits) == 10:
        return "+1" + digits
    # Left for the contract to judge: a number we cannot place is an error, not a guess.
    return "+" + digits


def _contact(email: str | None, defaults: Hl7Defaults) -> str:
    if defaults.contact_preference == "email":
        return "email" if email else "mail"
    return defaults.contact_preference


def _provider(seg: Segment, n: int) -> dict[str, Any] | None:
    # XCN: id (the NPI) ^ family ^ given ^ middle ^ suffix; component 13 the identifier type.
    rep = _preferred(seg.repetitions(n), 13, "NPI")
    if not rep:
        return None
    name = _compact(
        {"family": pick(rep, 2, 1), "given": pick(rep, 3), "middle": pick(rep, 4), "suffix": pick(rep, 5)}
    )
    return _compact({"npi": pick(rep, 1), "name": name or None}) or None


def _set_id(seg: Segment, errs: _Errors) -> int:
    raw = seg.value(1)
    if raw is None:
        return seg.sequence
    if not _SET_ID.fullmatch(raw):
        errs.add(Hl7MappingError(seg.name, seg.sequence, 1, "102", f"{seg.name}-1 (set id) must be a number"))
        return seg.sequence  # ordered by position, so the rest of the message is still checked
    return int(raw)


def _code(value: str | None) -> str | None:
    return value.replace(".", "").upper() if value else None


# --------------------------------------------------------------------------- the mapping


def map_dft_p03(
    text: str, defaults: Hl7Defaults, chargemaster: Mapping[str, ChargemasterItem] | None = None
) -> DftMapping:
    """Map one message to intake events (JSON form). Raises Hl7MappingError only: the first
    error of the message; `read_message` gives all of them."""
    mapping = read_message(text, defaults, chargemaster)
    if mapping.errors:
        raise mapping.errors[0]
    return mapping


def chargemaster_codes(text: str) -> list[str]:
    """The FT1-7 chargemaster codes of a message: the items the door loads before mapping the
    lines of an interface that bills institutional claims. Empty when the message is unreadable
    (the mapping then says why)."""
    try:
        segments = tokenize(text)
    except Hl7MappingError:
        return []
    return sorted({code for seg in segments if seg.name == "FT1" and (code := seg.value(7)) is not None})


def read_message(
    text: str, defaults: Hl7Defaults, chargemaster: Mapping[str, ChargemasterItem] | None = None
) -> DftMapping:
    """Map one DFT^P03 or ADT^A01/A03/A04/A08, collecting every mapping error in
    `DftMapping.errors`. `defaults` is the hl7.yaml file: the message's interface is picked by
    its MSH-3/MSH-4. `chargemaster` holds the items the FT1-7 codes name (`chargemaster_codes`),
    needed when the interface bills institutional claims.

    Raises Hl7MappingError only when the envelope is unusable (MSH, message type, unknown
    sender, framing: an AR), since nothing after it can be trusted to be a message we take."""
    segments = tokenize(text)
    msh = segments[0]
    by_name: dict[str, list[Segment]] = {}
    for seg in segments:
        by_name.setdefault(seg.name, []).append(seg)

    if msh.value(9) is None:
        raise Hl7MappingError("MSH", 1, 9, "101", "MSH-9 (message type) is required", reject=True)
    message_type, trigger = (msh.value(9) or "").upper(), (msh.value(9, 2) or "").upper()
    if (message_type, trigger) != ("DFT", "P03") and not (message_type == "ADT" and trigger in ADT_TRIGGERS):
        raise Hl7MappingError(
            "MSH", 1, 9, "200", "only DFT^P03 and ADT^A01, A03, A04 and A08 messages are accepted here", reject=True
        )
    label = f"{message_type}^{trigger}"
    control_id = msh.value(10)
    if control_id is None:
        raise Hl7MappingError("MSH", 1, 10, "101", "MSH-10 (message control id) is required", reject=True)
    sending_app = msh.value(3)
    interface = defaults.for_sender(sending_app or "", msh.value(4) or "")
    if interface is None:
        raise Hl7MappingError(
            "MSH", 1, 3, "103", "no interface is configured for this MSH-3 sending application and MSH-4 "
            "sending facility (hl7.yaml interfaces)", reject=True
        )
    defaults = interface
    source_system = defaults.source_system or (sending_app.lower() if sending_app else None)
    if source_system is None:
        raise Hl7MappingError("MSH", 1, 3, "101", "MSH-3 (sending application) is required", reject=True)
    facility_feed = defaults.bills != "professional"

    errs = _Errors()
    # The sender chooses these, and an ACK echoes them: ids only, refused otherwise and then
    # echoed empty (codec.read_header). MSH-3 has the stricter source-system rule of its own.
    for number, name in ((4, "sending facility"), (10, "message control id")):
        value = msh.value(number)
        if value is not None and not is_safe_token(value):
            errs.add(Hl7MappingError("MSH", 1, number, "102", f"MSH-{number} ({name}) must be 1 to 128 of "
                                     "A-Z a-z 0-9 _ . : / - (an id, never free text)"))
    pid = _single(by_name, "PID", msh, errs, label)
    pv1 = _single(by_name, "PV1", msh, errs, label)
    ft1s = by_name.get("FT1", []) if message_type == "DFT" else []
    if message_type == "DFT" and not ft1s:
        errs.add(Hl7MappingError("FT1", 1, None, "100", "a DFT^P03 needs at least one FT1 segment"))
    source_encounter_id = pv1.value(19)
    if source_encounter_id is None and not _segment_error(errs, "PV1"):
        errs.add(Hl7MappingError("PV1", 1, 19, "101", "PV1-19 (visit number) is required"))

    zone = defaults.zone()
    dg1s = by_name.get("DG1", [])
    diagnoses, diagnosis_sources = _diagnoses(dg1s, errs, skip_admitting=facility_feed)
    # A DG1 without its code would make every FT1-19 pointing at it look unknown: one error, not many.
    pointers_checked = not any(e.segment == "DG1" and e.field == 3 for e in errs.found)
    coverages, coverage_sources = _coverages(by_name.get("IN1", []), defaults, errs)
    patient, account_field = _patient(pid, pv1, defaults, errs)
    gt1s = sorted(by_name.get("GT1", []), key=lambda s: (_set_id(s, errs), s.sequence))
    guarantor = _guarantor(gt1s[0], defaults) if gt1s else _self_guarantor(patient)

    rendering = _provider(pv1, 7)
    admitted = errs.get(_datetime, pv1, 44, zone)
    discharged = errs.get(_datetime, pv1, 45, zone)
    patient_class = (pv1.value(2) or "").upper()
    rendering_npi = rendering.get("npi") if rendering else None
    charges = []
    for ft1 in ft1s:
        charge = _charge(ft1, source_system, source_encounter_id, diagnoses, rendering_npi, errs, pointers_checked)
        if facility_feed:
            _facility_line(ft1, charge, defaults, chargemaster or {}, bool(diagnoses), errs)
        charges.append(MappedEvent(CHARGE_SUBMITTED, charge, Hl7Location("FT1", ft1.sequence)))
    encounter = _compact(
        {
            "source_system": source_system,
            "source_encounter_id": source_encounter_id,
            "patient": patient,
            "guarantor": guarantor,
            "coverages": coverages,
            "billing_provider": dict(defaults.billing_provider),
            "rendering_provider": rendering,
            "referring_provider": _provider(pv1, 8),
            "facility": None if defaults.facility is None else dict(defaults.facility),
            "place_of_service": {"E": "23", "I": "21", "O": "22"}.get(patient_class, defaults.place_of_service),
            "admission_date": admitted[0] if admitted else None,
            "discharge_date": discharged[0] if discharged else None,
            "diagnoses": diagnoses,
            "accident": _accident(by_name.get("ACC", []), errs),
            "bills": defaults.bills if facility_feed else None,
            "institutional": _institutional(pv1, dg1s, by_name.get("PR1", []), charges, defaults, errs)
            if facility_feed
            else None,
        }
    )
    events = [MappedEvent(ENCOUNTER_REGISTERED, encounter, Hl7Location("PID", 1)), *charges]
    if discharged is not None and trigger in ("P03", "A03"):
        closed = _compact(
            {
                "source_system": source_system,
                "source_encounter_id": source_encounter_id,
                "closed_at": discharged[1],
            }
        )
        events.append(MappedEvent(ENCOUNTER_CLOSED, closed, Hl7Location("PV1", 1, 45)))
    return DftMapping(
        control_id=control_id,
        source_system=source_system,
        source_encounter_id=source_encounter_id or "",
        events=tuple(events),
        coverage_sources=coverage_sources,
        diagnosis_sources=diagnosis_sources,
        guarantor_sequence=gt1s[0].sequence if gt1s else None,
        errors=_in_message_order(errs.found, segments),
        account_field=account_field,
    )


def _in_message_order(found: list[Hl7MappingError], segments: list[Segment]) -> tuple[Hl7MappingError, ...]:
    """Errors as the sender reads the message: missing segments first, then by segment and field."""
    position = {(seg.name, seg.sequence): index for index, seg in enumerate(segments)}
    return tuple(sorted(found, key=lambda e: (position.get((e.segment, e.sequence), -1), e.field or 0)))


def _segment_error(errs: _Errors, name: str) -> bool:
    """A segment-level error (missing segment) was recorded: its fields need no errors of their own."""
    return any(e.segment == name and e.field is None for e in errs.found)


def _single(by_name: Mapping[str, list[Segment]], name: str, msh: Segment, errs: _Errors, label: str) -> Segment:
    found = by_name.get(name, [])
    if not found:
        errs.add(Hl7MappingError(name, 1, None, "100", f"a {label} needs a {name} segment"))
        # An empty stand-in, so the rest of the message is still checked.
        return Segment(name, 1, (name,), msh.seps)
    if len(found) > 1:
        errs.add(Hl7MappingError(name, 2, None, "100", f"one {name} segment per message"))
    return found[0]


def _account(pid: Segment, pv1: Segment, defaults: Hl7Defaults) -> tuple[str | None, int]:
    """(patient account number, the field it came from).

    PID-18 is optional in HL7 v2.5.1 and many EHR feeds leave it empty; the interface's
    `account_number_fallback` (hl7.yaml) says where the account is then: the first PID-3
    identifier (CX-1, the default), PV1-19 (the visit number, for feeds that bill per visit), or
    nowhere (`none`: PID-18 is required)."""
    account = pid.value(18)
    if account is None and defaults.account_number_fallback == "pid3":
        account = pid.value(3)
        if account is not None:
            return account, 3
    if account is None and defaults.account_number_fallback == "visit_number":
        account = pv1.value(19)
        if account is not None:
            return account, 19
    # Nothing anywhere: the error names PID-18, the field the sender is expected to fill.
    return account, 18


def _patient(pid: Segment, pv1: Segment, defaults: Hl7Defaults, errs: _Errors) -> tuple[dict[str, Any], int]:
    email, phone = _telecom(pid, 13)
    account, account_field = _account(pid, pv1, defaults)
    patient = _compact(
        {
            "name": _person_name(pid, 5),
            "birth_date": errs.get(_date, pid, 7),
            "sex": _sex(pid.value(8)),
            "address": _address(pid, 11),
            "email": email,
            "phone": phone,
            "contact_preference": _contact(email, defaults),
            "source_account_number": account,
        }
    )
    return patient, account_field


def _self_guarantor(patient: Mapping[str, Any]) -> dict[str, Any]:
    return _compact(
        {
            "relationship_to_patient": "self",
            "name": patient.get("name"),
            "address": patient.get("address"),
            "email": patient.get("email"),
            "phone": patient.get("phone"),
            "contact_preference": patient.get("contact_preference"),
        }
    )


_GUARANTOR_RELATIONSHIP: Mapping[str, str] = {
    "SEL": "self",
    "SPO": "spouse",
    "PAR": "parent",
    "MTH": "parent",
    "FTH": "parent",
    "GRD": "legal_guardian",
}


def _guarantor(gt1: Segment, defaults: Hl7Defaults) -> dict[str, Any]:
    email, phone = _telecom(gt1, 6)
    return _compact(
        {
            "relationship_to_patient": _GUARANTOR_RELATIONSHIP.get((gt1.value(11) or "").upper(), "other"),
            "name": _person_name(gt1, 3),
            "address": _address(gt1, 5),
            "email": email,
            "phone": phone,
            "contact_preference": _contact(email, defaults),
        }
    )


_SUBSCRIBER_RELATIONSHIP: Mapping[str, str] = {
    "SEL": "18",
    "18": "18",
    "SPO": "01",
    "01": "01",
    "CHD": "19",
    "19": "19",
}


def _coverages(
    in1s: list[Segment], defaults: Hl7Defaults, errs: _Errors
) -> tuple[list[dict[str, Any]], tuple[int, ...]]:
    ordered = sorted(in1s, key=lambda s: (_set_id(s, errs), s.sequence))
    out: list[dict[str, Any]] = []
    for rank, in1 in enumerate(ordered, start=1):
        relationship = _SUBSCRIBER_RELATIONSHIP.get((in1.value(17) or "").upper(), "G8")
        subscriber = None
        if relationship != "18":
            subscriber = _compact(
                {
                    "name": _person_name(in1, 16),
                    "birth_date": errs.get(_date, in1, 18),
                    "sex": _sex(in1.value(43)),
                    "address": _address(in1, 19),
                }
            )
        plan_type = (in1.value(15) or "").upper()
        authorizations = [a for rep in in1.repetitions(14) if (a := pick(rep)) is not None]
        out.append(
            _compact(
                {
                    "rank": rank,
                    "payer_id": in1.value(3),
                    "payer_name": in1.value(4),
                    "member_id": in1.value(36),
                    "group_number": in1.value(8),
                    "relationship_to_subscriber": relationship,
                    "subscriber": subscriber,
                    "claim_filing_indicator": plan_type
                    if plan_type in CLAIM_FILING_INDICATORS
                    else defaults.claim_filing_indicator,
                    "prior_authorization_numbers": authorizations,
                }
            )
        )
    return out, tuple(s.sequence for s in ordered)


_AUTO_ACCIDENT = frozenset({"AA", "AUTO", "MVA"})
_WORK_ACCIDENT = frozenset({"EM", "WORK"})


def _accident(accs: list[Segment], errs: _Errors) -> dict[str, Any] | None:
    """ACC: ACC-1 date, ACC-2 accident code (site table 0050: AA/AUTO/MVA auto, EM/WORK at work,
    anything else another accident), ACC-4 auto accident state, ACC-5 job related (Y)."""
    if not accs:
        return None
    if len(accs) > 1:
        errs.add(Hl7MappingError("ACC", 2, None, "100", "one ACC segment per message"))
    acc = accs[0]
    code = (acc.value(2) or "").upper()
    state = acc.value(4)
    causes: list[str] = []
    if (acc.value(5) or "").upper() == "Y" or code in _WORK_ACCIDENT:
        causes.append("employment")
    if code in _AUTO_ACCIDENT or state is not None:
        causes.append("auto")
    elif not causes or (code and code not in _WORK_ACCIDENT):
        causes.append("other")
    occurred_on = errs.get(_date, acc, 1)
    return _compact({"causes": causes, "occurred_on": occurred_on, "state": state.upper() if state else None})


def _diagnoses(dg1s: list[Segment], errs: _Errors, *, skip_admitting: bool) -> tuple[list[str], tuple[int, ...]]:
    """The encounter's diagnosis codes by DG1-15 priority, and the DG1 behind each. A facility
    feed's admitting diagnoses (DG1-6 A) are the institutional claim's own (`_institutional`),
    not the encounter's list, unless the message has no other kind."""
    ordered = _ranked_dg1s(dg1s, errs)
    if skip_admitting and any(not _admitting(dg1) for dg1 in ordered):
        ordered = [dg1 for dg1 in ordered if not _admitting(dg1)]
    codes: list[str] = []
    sources: list[int] = []
    for dg1 in ordered:
        code = _code(dg1.value(3))
        if code is None:
            errs.add(Hl7MappingError("DG1", dg1.sequence, 3, "101", "DG1-3 (diagnosis code) is required"))
            continue
        codes.append(code)
        sources.append(dg1.sequence)
    return codes[:_MAX_ENCOUNTER_DIAGNOSES], tuple(sources[:_MAX_ENCOUNTER_DIAGNOSES])


def _admitting(dg1: Segment) -> bool:
    return (dg1.value(6) or "").upper() == "A"


def _ranked_dg1s(dg1s: list[Segment], errs: _Errors) -> list[Segment]:
    return _ranked(dg1s, 15, "diagnosis priority", errs)


def _ranked(segments: list[Segment], priority_field: int, what: str, errs: _Errors) -> list[Segment]:
    """By the priority field (1 first), then set id, then position."""

    def rank(seg: Segment) -> tuple[int, int, int]:
        raw = seg.value(priority_field)
        if raw is not None and not _SET_ID.fullmatch(raw):
            errs.add(Hl7MappingError(seg.name, seg.sequence, priority_field, "102",
                                     f"{seg.name}-{priority_field} ({what}) must be a number"))
            raw = None
        # Priority 0 means "not ranked" in HL7: after every ranked one.
        priority = int(raw) if raw is not None and int(raw) > 0 else _UNRANKED
        return priority, _set_id(seg, errs), seg.sequence

    return sorted(segments, key=rank)


def _charge(
    ft1: Segment,
    source_system: str,
    source_encounter_id: str | None,
    diagnoses: list[str],
    rendering_npi: str | None,
    errs: _Errors,
    pointers_checked: bool = True,
) -> dict[str, Any]:
    seq = ft1.sequence
    kind = (ft1.value(6) or "").upper()
    if not kind:
        errs.add(Hl7MappingError("FT1", seq, 6, "101", "FT1-6 (transaction type) is required"))
    elif kind != "CG":
        errs.add(
            Hl7MappingError(
                "FT1",
                seq,
                6,
                "103",
                "FT1-6 (transaction type) must be CG: credits, payments and adjustments are not accepted"
                " on this interface",
            )
        )
    charge_id = ft1.value(2)
    procedure = ft1.value(25)
    pointers: list[int] = []
    for position, rep in enumerate(ft1.repetitions(19), start=1):
        code = _code(pick(rep))
        if code is None:
            continue
        if code not in diagnoses:
            if not pointers_checked:
                continue
            errs.add(
                Hl7MappingError(
                    "FT1", seq, 19, "103", f"FT1-19 repetition {position}: the diagnosis code is not in any DG1 segment"
                )
            )
            continue
        pointers.append(diagnoses.index(code) + 1)
    modifiers = [m for rep in ft1.repetitions(26) if (m := pick(rep)) is not None]
    start = errs.get(_date, ft1, 4, 1)
    end = errs.get(_date, ft1, 4, 2)
    performer = _provider(ft1, 20)
    performer_npi = performer.get("npi") if performer else None
    own_performer = performer if performer_npi != rendering_npi else None
    description = ft1.value(8) or ft1.value(7, 2)
    return _compact(
        {
            "source_system": source_system,
            "source_charge_id": charge_id,
            "idempotency_key": f"{source_system}:{charge_id}" if charge_id else None,
            "source_encounter_id": source_encounter_id,
            "service_date": start,
            "service_end_date": end if end != start else None,
            "procedure_code": procedure,
            "chargemaster_code": None if procedure else ft1.value(7),
            "modifiers": modifiers,
            "description": description[:_MAX_DESCRIPTION] if description else None,
            # HL7 leaves FT1-10 optional and senders omit it for a single unit.
            "units": errs.get(_quantity, ft1, 10) or "1",
            "unit_price": errs.get(_money, ft1, 12),
            "amount": errs.get(_money, ft1, 11),
            "diagnosis_pointers": pointers,
            # A named performer becomes the line's rendering provider (837P 2420A); an NPI alone
            # stays an NPI.
            "rendering_provider": own_performer if own_performer and "name" in own_performer else None,
            "rendering_provider_npi": performer_npi if own_performer and "name" not in own_performer else None,
            "ordering_provider": _provider(ft1, 21),
            # NDC: FT1-29 (CWE), its quantity and unit FT1-43 (CQ, HL7 2.8 and later).
            "ndc": ft1.value(29),
            "ndc_quantity": errs.get(_quantity, ft1, 43),
            "ndc_unit": (ft1.value(43, 2) or "").upper() or None,
        }
    )


# --------------------------------------------------------------------------- facility feeds

# HL7 table 0007 (admission type) -> NUBC priority of admission (UB-04 FL14); NUBC digits pass.
_ADMISSION_TYPE: Mapping[str, str] = {"E": "1", "A": "1", "U": "2", "C": "3", "R": "3", "N": "4"}
_NUBC_ADMISSION_TYPES = frozenset({"1", "2", "3", "4", "5", "9"})
_POA = frozenset({"Y", "N", "U", "W", "1"})
_STILL_A_PATIENT = "30"  # NUBC patient status until the discharge


def _facility_line(
    ft1: Segment,
    charge: dict[str, Any],
    defaults: Hl7Defaults,
    chargemaster: Mapping[str, ChargemasterItem],
    coded: bool,
    errs: _Errors,
) -> None:
    """Make an FT1 of a facility feed a line of the claim it goes on.

    The FT1-7 chargemaster item decides: a facility item (no procedure code: room and board,
    pharmacy, supplies; chargemaster migration 0002) goes on the institutional claim, an item
    with a procedure code on the professional claim when the interface bills both; on an
    interface that bills institutional only every line does. An institutional line takes the
    item's revenue code, FT1-25 as its HCPCS when sent (the price is then the item's unless FT1-11
    or FT1-12 gives one), and points at the principal diagnosis when FT1-19 is empty (a facility
    line rarely carries one)."""
    seq = ft1.sequence
    cdm_code = ft1.value(7)
    item = chargemaster.get(cdm_code) if cdm_code else None
    if cdm_code is not None and item is None:
        errs.add(Hl7MappingError("FT1", seq, 7, "103", "FT1-7 (chargemaster code) is not in the loaded chargemaster"))
        return
    # A line with neither FT1-7 nor FT1-25 can only be a facility line: it is told FT1-7 is missing.
    institutional = (
        defaults.bills == "institutional"
        or (item is not None and item.procedure_code is None)
        or (cdm_code is None and ft1.value(25) is None)
    )
    charge["claim_type"] = "institutional" if institutional else "professional"
    if not institutional:
        return
    if item is None:
        errs.add(Hl7MappingError("FT1", seq, 7, "101", "FT1-7 (chargemaster code) is required on a facility line: "
                                 "its item gives the revenue code"))
        return
    charge["revenue_code"] = item.revenue_code
    if "procedure_code" in charge and "unit_price" not in charge and "amount" not in charge:
        charge["unit_price"] = f"{item.unit_price:.2f}"
    if not charge.get("diagnosis_pointers") and coded and ft1.value(19) is None:
        charge["diagnosis_pointers"] = [1]


def _institutional(
    pv1: Segment,
    dg1s: list[Segment],
    pr1s: list[Segment],
    charges: list[MappedEvent],
    defaults: Hl7Defaults,
    errs: _Errors,
) -> dict[str, Any]:
    """The institutional claim's data (schemas.common.InstitutionalDetails) from PV1, DG1 and PR1.

    Type of bill: the interface's, else PV1-2 I (inpatient) -> 11, any other class -> 13
    (hospital outpatient). Statement period: PV1-44 admission to PV1-45 discharge; before the
    discharge it runs to the latest FT1 service date (or the admission day)."""
    patient_class = (pv1.value(2) or "").upper()
    type_of_bill = defaults.type_of_bill or ("11" if patient_class == "I" else "13")
    admitted = errs.get(_parse_dtm_field, pv1, 44)
    discharged = errs.get(_parse_dtm_field, pv1, 45)
    if admitted is None and is_inpatient_bill(type_of_bill) and not any(e.location == Hl7Location("PV1", 1, 44)
                                                                      for e in errs.found):
        errs.add(Hl7MappingError("PV1", 1, 44, "101", "PV1-44 (admit date/time) is required on an inpatient bill"))
    days = [date.fromisoformat(day) for ev in charges for key in ("service_date", "service_end_date")
            if isinstance(day := ev.data.get(key), str)]
    days += [d[0] for d in (admitted, discharged) if d is not None]
    statement_from = admitted[0] if admitted else min(days, default=None)
    statement_through = discharged[0] if discharged else max(days, default=None)
    status = pv1.value(36)
    if status is None and discharged is not None:
        errs.add(Hl7MappingError("PV1", 1, 36, "101", "PV1-36 (discharge disposition) is required with PV1-45 "
                                 "(discharge date/time)"))
    ranked = _ranked_dg1s(dg1s, errs)
    admitting = [dg1 for dg1 in ranked if _admitting(dg1)]
    # Until coding is final an admission may carry only its admitting diagnosis: it stands as
    # the principal one, and the next message (whole state) replaces it.
    coded = [dg1 for dg1 in ranked if not _admitting(dg1)] or admitting
    diagnoses = [d for dg1 in coded if (d := _institutional_diagnosis(dg1, errs)) is not None]
    # PR1-14 priority 1 is the principal procedure.
    ranked_pr1s = _ranked(pr1s, 14, "procedure priority", errs)
    procedures = [p for pr1 in ranked_pr1s if (p := _procedure(pr1, errs)) is not None]
    return _compact(
        {
            "type_of_bill": type_of_bill,
            "billing_provider": None
            if defaults.institutional_billing_provider is None
            else dict(defaults.institutional_billing_provider),
            "statement_from": None if statement_from is None else statement_from.isoformat(),
            "statement_through": None if statement_through is None else statement_through.isoformat(),
            "admission_hour": admitted[1] if admitted else None,
            "admission_type": errs.get(_admission_type, pv1),
            "admission_source": (pv1.value(14) or "").upper() or None,
            "discharge_hour": discharged[1] if discharged else None,
            "patient_status": status if status is not None else None if discharged else _STILL_A_PATIENT,
            "attending_provider": _provider(pv1, 7),
            "principal_diagnosis": diagnoses[0] if diagnoses else None,
            "admitting_diagnosis": _code(admitting[0].value(3)) if admitting else None,
            "other_diagnoses": diagnoses[1:],
            "principal_procedure": procedures[0] if procedures else None,
            "other_procedures": procedures[1:],
        }
    )


def _parse_dtm_field(seg: Segment, n: int) -> tuple[date, int | None] | None:
    """(day, hour or None when the value has no time) as the sender wrote it, in its own zone."""
    raw = seg.value(n)
    if raw is None:
        return None
    day, moment, _ = _parse_dtm(seg, n, raw, need_day=True)
    return day, None if moment is None else moment.hour


def _admission_type(pv1: Segment) -> str | None:
    raw = (pv1.value(4) or "").upper()
    if not raw:
        return None
    code = raw if raw in _NUBC_ADMISSION_TYPES else _ADMISSION_TYPE.get(raw)
    if code is None:
        raise Hl7MappingError("PV1", 1, 4, "103", "PV1-4 (admission type) must be a NUBC priority (1-5, 9) or "
                              "HL7 table 0007 E, A, U, C, R or N")
    return code


def _institutional_diagnosis(dg1: Segment, errs: _Errors) -> dict[str, Any] | None:
    code = _code(dg1.value(3))
    if code is None:
        return None  # reported by _diagnoses
    poa = (dg1.value(26) or "").upper() or None
    if poa is not None and poa not in _POA:
        errs.add(Hl7MappingError("DG1", dg1.sequence, 26, "103", "DG1-26 (present on admission) must be Y, N, U, "
                                 "W or 1"))
        poa = None
    return _compact({"code": code, "present_on_admission": poa})


def _procedure(pr1: Segment, errs: _Errors) -> dict[str, Any] | None:
    """PR1-3 an ICD-10-PCS code (CNE coding system I10P), PR1-5 the day it was performed."""
    seq = pr1.sequence
    code = pr1.value(3)
    if code is None:
        errs.add(Hl7MappingError("PR1", seq, 3, "101", "PR1-3 (procedure code) is required"))
        return None
    if (pr1.value(3, 3) or "").upper() != "I10P":
        errs.add(Hl7MappingError("PR1", seq, 3, "103", "PR1-3 (procedure code) must be ICD-10-PCS: coding system "
                                 "(component 3) I10P"))
        return None
    performed = errs.get(_date, pr1, 5)
    if performed is None and pr1.value(5) is None:
        errs.add(Hl7MappingError("PR1", seq, 5, "101", "PR1-5 (procedure date/time) is required"))
    return _compact({"code": _code(code), "performed_on": performed})
