"""837P reader: X12 text -> ClaimBatch (the writer's model), for round trips and ``rcm x12 parse``.

It reads what our writer emits plus the common variations of other senders (NM1 ids in
any order of optional segments); loops it does not model (2010AB, 2310D, 2420B/C/D/F, ...)
are skipped. Our writer's own rules (NPI check digit, PRV*BI, ZIP+4, id character sets: see
``model.READING``) do not stop it: ``read_837p_document`` returns the data with each breach as a
finding. A claim that does not fit the model at all is left out with an error finding; a
structure it cannot follow raises X12Error. Messages name segment positions and model fields,
never values.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, TypeVar

from pydantic import ValidationError

from edi.envelope import Interchange, TransactionSet, read_interchange
from edi.errors import X12Error
from edi.issues import X12Issue
from edi.segments import Segment, is_digits
from edi.x837.model import READING, Claim, ClaimBatch

Doc = dict[str, Any]


def _date(seg: Segment, i: int) -> date:
    try:
        return datetime.strptime(seg.el(i), "%Y%m%d").date()
    except ValueError:
        raise X12Error(f"{seg.name(i)} is not a CCYYMMDD date", position=seg.position, segment_id=seg.tag) from None


def _opt(value: str) -> str | None:
    return value or None


def _person(seg: Segment) -> Doc:
    return {
        "last_name": seg.el(3),
        "first_name": _opt(seg.el(4)),
        "middle_name": _opt(seg.el(5)),
        "suffix": _opt(seg.el(7)),
    }


def _cas(seg: Segment) -> list[Doc]:
    out: list[Doc] = []
    for k in range(2, 19, 3):
        if seg.el(k):
            out.append(
                {"group": seg.el(1), "reason": seg.el(k), "amount": seg.el(k + 1), "quantity": _opt(seg.el(k + 2))}
            )
    return out


def _procedure(seg: Segment, i: int) -> tuple[str, list[str]]:
    comps = seg.comps(i)
    if len(comps) < 2 or comps[0] not in {"HC", "ER", "IV", "WK"}:
        raise X12Error(f"{seg.name(i)} is not a procedure composite", position=seg.position, segment_id=seg.tag)
    return comps[1], [m for m in comps[2:6] if m]


class _TransactionReader:
    """Walks one 837 transaction; ``target`` is the loop the next N3/N4/DMG/CAS/DTP belongs to."""

    def __init__(self, batch: Doc) -> None:
        self.batch = batch
        self.claims: list[tuple[Segment, Doc]] = []
        self.hl: dict[str, tuple[str, Doc]] = {}  # HL01 -> (level code, context)
        self.billing: Doc = {}
        self.subscriber: Doc = {}
        self.patient: Doc | None = None
        self.claim: Doc | None = None
        self.line: Doc | None = None
        self.other: Doc | None = None
        self.adjudication: Doc | None = None
        self.target: Doc | None = None
        self.skipping = False  # inside a loop the model does not carry

    def read(self, ts: TransactionSet) -> None:
        for seg in ts.body:
            handler = getattr(self, f"_seg_{seg.tag}", None)
            if handler is not None:
                handler(seg)

    # --- header and hierarchy ---
    def _seg_BHT(self, seg: Segment) -> None:
        self.batch.setdefault("reference", seg.el(3))

    def _seg_PER(self, seg: Segment) -> None:
        if self.target is self.batch.get("submitter"):
            submitter = self.batch["submitter"]
            submitter["contact_name"] = seg.el(2)
            for k in (3, 5, 7):
                if seg.el(k) == "TE":
                    submitter["phone"] = seg.el(k + 1)

    def _seg_HL(self, seg: Segment) -> None:
        self.claim = self.line = self.other = self.adjudication = None
        self.skipping = False
        level, parent = seg.el(3), self.hl.get(seg.el(2))
        if level == "20":
            self.billing = {}
            self.target = self.billing
            self.hl[seg.el(1)] = (level, self.billing)
        elif level == "22":
            if parent is None or parent[0] != "20":
                raise X12Error("HL02 does not point to a billing provider HL", position=seg.position, segment_id="HL")
            self.billing = parent[1]
            self.subscriber = {"billing": self.billing}
            self.patient = None
            self.target = self.subscriber
            self.hl[seg.el(1)] = (level, self.subscriber)
        elif level == "23":
            if parent is None or parent[0] != "22":
                raise X12Error("HL02 does not point to a subscriber HL", position=seg.position, segment_id="HL")
            self.subscriber = parent[1]
            self.patient = {}
            self.target = self.patient
            self.hl[seg.el(1)] = (level, self.patient)
        else:
            raise X12Error("HL03 is not a 837P level (20, 22, 23)", position=seg.position, segment_id="HL")

    def _seg_PRV(self, seg: Segment) -> None:
        if seg.el(1) == "BI":
            self.billing["taxonomy"] = seg.el(3)
        elif seg.el(1) == "PE" and self.claim is not None and self.target is self.claim.get("rendering_provider"):
            self.claim["rendering_provider"]["taxonomy"] = seg.el(3)
        elif seg.el(1) == "PE" and self.line is not None and self.target is self.line.get("rendering_provider"):
            self.line["rendering_provider"]["taxonomy"] = seg.el(3)

    def _seg_SBR(self, seg: Segment) -> None:
        if self.claim is None:
            self.subscriber["sbr"] = seg
            return
        self.line = None
        self.other = {
            "responsibility": seg.el(1),
            "relationship": seg.el(2),
            "group_number": _opt(seg.el(3)),
            "insurance_type": _opt(seg.el(5)),
            "claim_filing_indicator": seg.el(9),
            "adjustments": [],
        }
        self.claim["other_payers"].append(self.other)
        self.target = self.other

    def _seg_PAT(self, seg: Segment) -> None:
        if self.patient is not None:
            self.patient["relationship"] = seg.el(1)

    def _seg_NM1(self, seg: Segment) -> None:
        code = seg.el(1)
        self.skipping = False
        if code == "41":
            self.batch["submitter"] = {"name": seg.el(3), "id": seg.el(9)}
            self.target = self.batch["submitter"]
        elif code == "40":
            self.batch["receiver"] = {"name": seg.el(3), "id": seg.el(9)}
            self.target = None
        elif code == "85" and self.claim is None:  # 2010AA; in a claim it is 2330G, another payer's
            self.billing.update(name=seg.el(3), npi=seg.el(9))
            self.target = self.billing
        elif code == "IL" and self.other is not None:
            self.other.update(subscriber=_person(seg), member_id=seg.el(9))
            self.target = None
        elif code == "IL":
            self.subscriber.update(_person(seg), member_id=seg.el(9))
            self.target = self.subscriber
        elif code == "PR" and self.other is not None:
            self.other["payer"] = {"name": seg.el(3), "id": seg.el(9)}
            self.target = self.other
        elif code == "PR":
            self.subscriber["payer"] = {"name": seg.el(3), "id": seg.el(9)}
            self.target = None
        elif code == "QC" and self.patient is not None:
            self.patient.update(_person(seg))
            self.target = self.patient
        elif code in {"DN", "P3", "82"} and self.claim is not None and self.line is None and self.other is None:
            key = "rendering_provider" if code == "82" else "referring_provider"
            self.claim[key] = {**_person(seg), "npi": seg.el(9)}
            self.target = self.claim[key]
        elif code == "77" and self.claim is not None and self.line is None and self.other is None:
            self.claim["service_facility"] = {"name": seg.el(3), "npi": _opt(seg.el(9))}
            self.target = self.claim["service_facility"]
        elif code in {"82", "DK"} and self.line is not None and self.adjudication is None:
            key = "rendering_provider" if code == "82" else "ordering_provider"
            self.line[key] = {**_person(seg), "npi": seg.el(9)}
            # 2420E may carry the orderer's address, which the model does not keep.
            self.target = self.line[key] if code == "82" else None
        else:
            self.skipping = True
            self.target = None

    def _seg_N3(self, seg: Segment) -> None:
        if self.target is not None and not self.skipping:
            self.target["address"] = {"line1": seg.el(1), "line2": _opt(seg.el(2))}

    def _seg_N4(self, seg: Segment) -> None:
        if self.target is not None and not self.skipping and "address" in self.target:
            self.target["address"].update(city=seg.el(1), state=seg.el(2), zip=seg.el(3))

    def _seg_DMG(self, seg: Segment) -> None:
        if self.target is not None and seg.el(1) == "D8":
            self.target["birth_date"] = _date(seg, 2)
            self.target["gender"] = _opt(seg.el(3))

    def _seg_REF(self, seg: Segment) -> None:
        qualifier, value = seg.el(1), seg.el(2)
        if qualifier == "EI" and self.claim is None and self.target is self.billing:
            self.billing["tax_id"] = value
        elif self.line is not None:
            if qualifier == "6R":
                self.line["line_control_number"] = value
        elif self.claim is not None and self.other is None:
            if qualifier == "F8":
                self.claim["payer_claim_control_number"] = value
            elif qualifier == "G1":
                self.claim["prior_authorization"] = value
            elif qualifier == "9F":
                self.claim["referral_number"] = value
            elif qualifier == "X4":
                self.claim["clia_number"] = value

    # --- claim ---
    def _seg_CLM(self, seg: Segment) -> None:
        sbr = self.subscriber.get("sbr")
        if sbr is None or "payer" not in self.subscriber:
            raise X12Error("CLM without a subscriber (SBR, NM1*IL, NM1*PR)", position=seg.position, segment_id="CLM")
        self.line = self.other = self.adjudication = None
        self.skipping = False
        subscriber = {k: v for k, v in self.subscriber.items() if k not in {"sbr", "payer", "billing"}}
        subscriber["group_number"] = _opt(sbr.el(3))
        self.claim = {
            "submission_id": seg.el(1),
            "total_charge": seg.el(2),
            "place_of_service": seg.comp(5, 1),
            "frequency": seg.comp(5, 3),
            "provider_signature": seg.el(6) == "Y",
            "assignment": seg.el(7),
            "benefits_assigned": seg.el(8),
            "release_of_information": seg.el(9),
            "billing_provider": self.billing,
            "subscriber": subscriber,
            "patient": self.patient,
            "payer": self.subscriber["payer"],
            "payer_responsibility": sbr.el(1),
            "claim_filing_indicator": sbr.el(9),
            "insurance_type": _opt(sbr.el(5)),
            "related_causes": [c for c in seg.comps(11)[:2] if c],
            "accident_state": _opt(seg.comp(11, 4)),
            "diagnoses": [],
            "other_payers": [],
            "lines": [],
        }
        self.claims.append((seg, self.claim))
        self.target = self.claim

    def _seg_HI(self, seg: Segment) -> None:
        if self.claim is None:
            return
        for i in range(1, 13):
            if seg.comp(i, 1) in {"ABK", "ABF", "BK", "BF"}:
                self.claim["diagnoses"].append(seg.comp(i, 2))

    def _seg_AMT(self, seg: Segment) -> None:
        if self.other is not None and self.line is None and seg.el(1) == "D":
            self.other["paid_amount"] = seg.el(2)
        elif seg.el(1) == "EAF" and self.adjudication is not None:
            self.adjudication["remaining_patient_liability"] = seg.el(2)
        elif seg.el(1) == "EAF" and self.other is not None and self.line is None:
            self.other["remaining_patient_liability"] = seg.el(2)

    def _seg_CAS(self, seg: Segment) -> None:
        if self.adjudication is not None:
            self.adjudication["adjustments"].extend(_cas(seg))
        elif self.other is not None and self.line is None:
            self.other["adjustments"].extend(_cas(seg))

    def _seg_DTP(self, seg: Segment) -> None:
        if seg.el(1) == "573":
            if self.adjudication is not None:
                self.adjudication["adjudication_date"] = _date(seg, 3)
            elif self.other is not None and self.line is None:
                self.other["adjudication_date"] = _date(seg, 3)
        elif seg.el(1) == "439" and self.claim is not None and self.line is None and self.other is None:
            self.claim["accident_date"] = _date(seg, 3)
        elif seg.el(1) == "472" and self.line is not None:
            start, _, end = seg.el(3).partition("-")
            self.line["service_date"] = _date(Segment("DTP", ("472", "D8", start), seg.position), 3)
            if end:
                self.line["service_date_end"] = _date(Segment("DTP", ("472", "D8", end), seg.position), 3)

    # --- lines ---
    def _seg_LX(self, seg: Segment) -> None:
        if self.claim is None:
            raise X12Error("LX outside a claim", position=seg.position, segment_id="LX")
        self.other = self.adjudication = None
        self.skipping = False
        self.line = {"adjudications": []}
        self.claim["lines"].append(self.line)
        self.target = None

    def _seg_SV1(self, seg: Segment) -> None:
        if self.line is None:
            raise X12Error("SV1 outside a service line (no LX)", position=seg.position, segment_id="SV1")
        code, modifiers = _procedure(seg, 1)
        pointers = [p for p in seg.comps(7) if p]
        self.line.update(
            procedure_code=code,
            modifiers=modifiers,
            charge=seg.el(2),
            unit_code=seg.el(3),
            units=seg.el(4),
            place_of_service=_opt(seg.el(5)),
            diagnosis_pointers=pointers,
        )

    def _seg_LIN(self, seg: Segment) -> None:
        if self.line is not None and seg.el(2) == "N4":
            self.line["drug"] = {"ndc": seg.el(3)}

    def _seg_CTP(self, seg: Segment) -> None:
        drug = self.line.get("drug") if self.line is not None else None
        if drug is not None:
            drug.update(quantity=seg.el(4), unit=seg.comp(5, 1))

    def _seg_SVD(self, seg: Segment) -> None:
        if self.line is None:
            raise X12Error("SVD outside a service line", position=seg.position, segment_id="SVD")
        code, modifiers = _procedure(seg, 3)
        self.adjudication = {
            "payer_id": seg.el(1),
            "paid_amount": seg.el(2),
            "procedure_code": code,
            "modifiers": modifiers,
            "units": seg.el(5),
            "adjustments": [],
        }
        self.line["adjudications"].append(self.adjudication)


def _drop_nones(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _drop_nones(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_drop_nones(v) for v in value]
    return value


def _validation_message(error: ValidationError, what: str = "claim") -> str:
    first = error.errors()[0]
    return _error_text(first["loc"], first["msg"], what)


def _error_text(loc: tuple[int | str, ...], msg: str, what: str = "claim") -> str:
    where = ".".join(str(part) for part in loc)
    msg = msg.removeprefix("Value error, ")
    return f"{what} field {where}: {msg}" if where else f"{what}: {msg}"


@dataclass(frozen=True)
class Read837P:
    """An 837P interchange as read: the batch (None when not one claim could be read) and the
    findings: our writer's rules it breaks (warnings) and claims left out (errors)."""

    batch: ClaimBatch | None
    findings: tuple[X12Issue, ...]


M = TypeVar("M", Claim, ClaimBatch)


def _validate(model: type[M], doc: Doc, seg: Segment | None, findings: list[X12Issue]) -> M | None:
    """The strict model, else the reader's (writer-only rules pass, each reported), else None."""
    position, segment_id = (seg.position, seg.tag) if seg else (None, None)
    what = "claim" if model is Claim else "interchange"
    try:
        return model.model_validate(doc)
    except ValidationError as strict:
        try:
            value = model.model_validate(doc, context=READING)
        except ValidationError as exc:
            findings.append(X12Issue(code="unreadable", message=_validation_message(exc, what), position=position,
                                     segment_id=segment_id))
            return None
        findings.extend(
            X12Issue(code="writer_rule", message=_error_text(e["loc"], e["msg"], what), position=position,
                     segment_id=segment_id, severity="warning")
            for e in strict.errors()
        )
        return value


def read_837p_document(interchange: Interchange) -> Read837P:
    """Build the typed batch from an already-parsed interchange holding 837P transaction sets."""
    if not interchange.groups:
        raise X12Error("interchange has no functional group")
    group = interchange.groups[0]
    batch: Doc = {
        "sender_id": interchange.sender_id,
        "receiver_id": interchange.receiver_id,
        "interchange_control_number": int(interchange.control_number),
        "group_control_number": int(group.control_number) if is_digits(group.control_number) else 1,
        "usage_indicator": interchange.usage_indicator,
    }
    try:
        batch["created"] = datetime.strptime(group.date + group.time[:4], "%Y%m%d%H%M")
    except ValueError:
        raise X12Error("GS04/GS05 is not a valid date and time", segment_id="GS") from None
    findings: list[X12Issue] = list(interchange.findings)
    claims: list[Claim] = []
    for ts in interchange.transactions():
        if ts.id != "837":
            raise X12Error("ST01 is not 837", position=ts.segments[0].position, segment_id="ST")
        reader = _TransactionReader(batch)
        reader.read(ts)
        for clm, doc in reader.claims:
            claim = _validate(Claim, _drop_nones(doc), clm, findings)
            if claim is not None:
                claims.append(claim)
    batch["claims"] = claims
    return Read837P(_validate(ClaimBatch, _drop_nones(batch), None, findings) if claims else None, tuple(findings))


def read_837p_interchange(interchange: Interchange) -> ClaimBatch:
    """The batch of an interchange; an error finding (a claim that cannot be read, a trailer count
    that does not match) raises X12Error. Our writer's rules do not: see ``read_837p_document``."""
    document = read_837p_document(interchange)
    errors = [f for f in document.findings if f.severity == "error"]
    if errors or document.batch is None:
        first = errors[0] if errors else X12Issue(code="unreadable", message="interchange holds no claim")
        raise X12Error(first.message, position=first.position, segment_id=first.segment_id)
    return document.batch


def read_837p(text: str) -> ClaimBatch:
    """Parse an 837P interchange into the typed batch (envelope checks included)."""
    return read_837p_interchange(read_interchange(text))
