"""Reader parts shared by the 837P and 837I readers: the loop-following walk of the header,
hierarchy and COB loops, and the read-then-validate step with its findings.

A variant subclasses ``TransactionReader`` with its claim, provider, line and adjudication
segments and hands it to ``read_document``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Generic, TypeVar

from pydantic import ValidationError

from edi.envelope import Interchange, TransactionSet
from edi.errors import X12Error
from edi.issues import X12Issue
from edi.segments import Segment, is_digits
from edi.x837common.model import READING, BatchBase, ClaimBase, Model

Doc = dict[str, Any]


def read_date(seg: Segment, i: int, text: str | None = None) -> date:
    """Element ``i`` (or ``text``, a part of it) as a CCYYMMDD date."""
    try:
        return datetime.strptime(seg.el(i) if text is None else text, "%Y%m%d").date()
    except ValueError:
        raise X12Error(f"{seg.name(i)} is not a CCYYMMDD date", position=seg.position, segment_id=seg.tag) from None


def read_period(seg: Segment, i: int) -> tuple[date, date | None]:
    """A D8 date or an RD8 range ``CCYYMMDD-CCYYMMDD``: (start, end or None)."""
    start, _, end = seg.el(i).partition("-")
    return read_date(seg, i, start), (read_date(seg, i, end) if end else None)


def opt(value: str) -> str | None:
    return value or None


def person(seg: Segment) -> Doc:
    return {
        "last_name": seg.el(3),
        "first_name": opt(seg.el(4)),
        "middle_name": opt(seg.el(5)),
        "suffix": opt(seg.el(7)),
    }


def cas(seg: Segment) -> list[Doc]:
    out: list[Doc] = []
    for k in range(2, 19, 3):
        if seg.el(k):
            out.append(
                {"group": seg.el(1), "reason": seg.el(k), "amount": seg.el(k + 1), "quantity": opt(seg.el(k + 2))}
            )
    return out


def procedure(seg: Segment, i: int) -> tuple[str, list[str]]:
    comps = seg.comps(i)
    if len(comps) < 2 or comps[0] not in {"HC", "ER", "IV", "WK", "HP"}:
        raise X12Error(f"{seg.name(i)} is not a procedure composite", position=seg.position, segment_id=seg.tag)
    return comps[1], [m for m in comps[2:6] if m]


class TransactionReader:
    """Walks one 837 transaction; ``target`` is the loop the next N3/N4/DMG/CAS/DTP belongs to.

    Handlers are ``_seg_<TAG>`` methods; a variant adds its own and extends ``_claim_nm1``,
    ``_claim_ref``, ``_claim_dtp`` and ``claim_doc`` for the loops it models.
    """

    LEVELS = "837"  # for the message of an unknown HL03

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
            raise X12Error(f"HL03 is not a {self.LEVELS} level (20, 22, 23)", position=seg.position, segment_id="HL")

    def _seg_PRV(self, seg: Segment) -> None:
        if seg.el(1) == "BI":
            self.billing["taxonomy"] = seg.el(3)

    def _seg_SBR(self, seg: Segment) -> None:
        if self.claim is None:
            self.subscriber["sbr"] = seg
            return
        self.line = None
        self.other = {
            "responsibility": seg.el(1),
            "relationship": seg.el(2),
            "group_number": opt(seg.el(3)),
            "insurance_type": opt(seg.el(5)),
            "claim_filing_indicator": seg.el(9),
            "adjustments": [],
        }
        self.claim["other_payers"].append(self.other)
        self.target = self.other

    def _seg_PAT(self, seg: Segment) -> None:
        if self.patient is not None:
            self.patient["relationship"] = seg.el(1)

    def _claim_nm1(self, code: str, seg: Segment) -> bool:
        """A 2310/2420 provider NM1 of the variant; False when it is not one the model keeps."""
        del code, seg
        return False

    def _seg_NM1(self, seg: Segment) -> None:
        code = seg.el(1)
        self.skipping = False
        if code == "41":
            self.batch["submitter"] = {"name": seg.el(3), "id": seg.el(9)}
            self.target = self.batch["submitter"]
        elif code == "40":
            self.batch["receiver"] = {"name": seg.el(3), "id": seg.el(9)}
            self.target = None
        elif code == "85" and self.claim is None:  # 2010AA; in a claim it is another payer's
            self.billing.update(name=seg.el(3), npi=seg.el(9))
            self.target = self.billing
        elif code == "IL" and self.other is not None:
            self.other.update(subscriber=person(seg), member_id=seg.el(9))
            self.target = None
        elif code == "IL":
            self.subscriber.update(person(seg), member_id=seg.el(9))
            self.target = self.subscriber
        elif code == "PR" and self.other is not None:
            self.other["payer"] = {"name": seg.el(3), "id": seg.el(9)}
            self.target = self.other
        elif code == "PR":
            self.subscriber["payer"] = {"name": seg.el(3), "id": seg.el(9)}
            self.target = None
        elif code == "QC" and self.patient is not None:
            self.patient.update(person(seg))
            self.target = self.patient
        elif not self._claim_nm1(code, seg):
            self.skipping = True
            self.target = None

    def service_facility(self, seg: Segment) -> None:
        """NM1*77 in 2300: the claim's service facility."""
        assert self.claim is not None
        self.claim["service_facility"] = {"name": seg.el(3), "npi": opt(seg.el(9))}
        self.target = self.claim["service_facility"]

    def _seg_N3(self, seg: Segment) -> None:
        if self.target is not None and not self.skipping:
            self.target["address"] = {"line1": seg.el(1), "line2": opt(seg.el(2))}

    def _seg_N4(self, seg: Segment) -> None:
        if self.target is not None and not self.skipping and "address" in self.target:
            self.target["address"].update(city=seg.el(1), state=seg.el(2), zip=seg.el(3))

    def _seg_DMG(self, seg: Segment) -> None:
        if self.target is not None and seg.el(1) == "D8":
            self.target["birth_date"] = read_date(seg, 2)
            self.target["gender"] = opt(seg.el(3))

    _CLAIM_REFS = {"F8": "payer_claim_control_number", "G1": "prior_authorization", "9F": "referral_number"}

    def _seg_REF(self, seg: Segment) -> None:
        qualifier, value = seg.el(1), seg.el(2)
        if qualifier == "EI" and self.claim is None and self.target is self.billing:
            self.billing["tax_id"] = value
        elif self.line is not None:
            if qualifier == "6R":
                self.line["line_control_number"] = value
        elif self.claim is not None and self.other is None:
            field = self._CLAIM_REFS.get(qualifier)
            if field is not None:
                self.claim[field] = value

    # --- claim ---
    def claim_doc(self, seg: Segment) -> Doc:
        """The variant's own CLM fields (CLM05, ...) and empty lists."""
        raise NotImplementedError

    def _seg_CLM(self, seg: Segment) -> None:
        sbr = self.subscriber.get("sbr")
        if sbr is None or "payer" not in self.subscriber:
            raise X12Error("CLM without a subscriber (SBR, NM1*IL, NM1*PR)", position=seg.position, segment_id="CLM")
        self.line = self.other = self.adjudication = None
        self.skipping = False
        subscriber = {k: v for k, v in self.subscriber.items() if k not in {"sbr", "payer", "billing"}}
        subscriber["group_number"] = opt(sbr.el(3))
        self.claim = {
            "submission_id": seg.el(1),
            "total_charge": seg.el(2),
            "assignment": seg.el(7),
            "benefits_assigned": seg.el(8),
            "release_of_information": seg.el(9),
            "billing_provider": self.billing,
            "subscriber": subscriber,
            "patient": self.patient,
            "payer": self.subscriber["payer"],
            "payer_responsibility": sbr.el(1),
            "claim_filing_indicator": sbr.el(9),
            "insurance_type": opt(sbr.el(5)),
            "other_payers": [],
            "lines": [],
            **self.claim_doc(seg),
        }
        self.claims.append((seg, self.claim))
        self.target = self.claim

    def _seg_AMT(self, seg: Segment) -> None:
        if self.other is not None and self.line is None and seg.el(1) == "D":
            self.other["paid_amount"] = seg.el(2)
        elif seg.el(1) == "EAF" and self.adjudication is not None:
            self.adjudication["remaining_patient_liability"] = seg.el(2)
        elif seg.el(1) == "EAF" and self.other is not None and self.line is None:
            self.other["remaining_patient_liability"] = seg.el(2)

    def _seg_CAS(self, seg: Segment) -> None:
        if self.adjudication is not None:
            self.adjudication["adjustments"].extend(cas(seg))
        elif self.other is not None and self.line is None:
            self.other["adjustments"].extend(cas(seg))

    def _claim_dtp(self, seg: Segment) -> None:
        """A 2300 DTP of the variant (outside the COB loops)."""
        del seg

    def _seg_DTP(self, seg: Segment) -> None:
        if seg.el(1) == "573":
            if self.adjudication is not None:
                self.adjudication["adjudication_date"] = read_date(seg, 3)
            elif self.other is not None and self.line is None:
                self.other["adjudication_date"] = read_date(seg, 3)
        elif seg.el(1) == "472" and self.line is not None:
            start, end = read_period(seg, 3)
            self.line["service_date"] = start
            if end is not None:
                self.line["service_date_end"] = end
        elif self.claim is not None and self.line is None and self.other is None:
            self._claim_dtp(seg)

    # --- lines ---
    def _seg_LX(self, seg: Segment) -> None:
        if self.claim is None:
            raise X12Error("LX outside a claim", position=seg.position, segment_id="LX")
        self.other = self.adjudication = None
        self.skipping = False
        self.line = {"adjudications": []}
        self.claim["lines"].append(self.line)
        self.target = None

    def svd(self, seg: Segment, fields: Doc) -> None:
        """A 2430 SVD: SVD01/02/05 here, the variant's procedure/revenue code in ``fields``."""
        if self.line is None:
            raise X12Error("SVD outside a service line", position=seg.position, segment_id="SVD")
        self.adjudication = {
            "payer_id": seg.el(1),
            "paid_amount": seg.el(2),
            **fields,
            "units": seg.el(5),
            "adjustments": [],
        }
        self.line["adjudications"].append(self.adjudication)


def drop_nones(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: drop_nones(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [drop_nones(v) for v in value]
    return value


def _validation_message(error: ValidationError, what: str = "claim") -> str:
    first = error.errors()[0]
    return _error_text(first["loc"], first["msg"], what)


def _error_text(loc: tuple[int | str, ...], msg: str, what: str = "claim") -> str:
    where = ".".join(str(part) for part in loc)
    msg = msg.removeprefix("Value error, ")
    return f"{what} field {where}: {msg}" if where else f"{what}: {msg}"


B = TypeVar("B", bound=BatchBase)
M = TypeVar("M", bound=Model)


@dataclass(frozen=True)
class Read837(Generic[B]):
    """An 837 interchange as read: the batch (None when not one claim could be read) and the
    findings: our writer's rules it breaks (warnings) and claims left out (errors)."""

    batch: B | None
    findings: tuple[X12Issue, ...]


def _validate(model: type[M], doc: Doc, seg: Segment | None, findings: list[X12Issue]) -> M | None:
    """The strict model, else the reader's (writer-only rules pass, each reported), else None."""
    position, segment_id = (seg.position, seg.tag) if seg else (None, None)
    what = "claim" if issubclass(model, ClaimBase) else "interchange"
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


def read_document(
    interchange: Interchange, reader: type[TransactionReader], claim_model: type[ClaimBase], batch_model: type[B]
) -> Read837[B]:
    """Build the typed batch from an already-parsed interchange holding 837 transaction sets."""
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
    claims: list[ClaimBase] = []
    for ts in interchange.transactions():
        if ts.id != "837":
            raise X12Error("ST01 is not 837", position=ts.segments[0].position, segment_id="ST")
        walker = reader(batch)
        walker.read(ts)
        for clm, doc in walker.claims:
            claim = _validate(claim_model, drop_nones(doc), clm, findings)
            if claim is not None:
                claims.append(claim)
    batch["claims"] = claims
    return Read837(_validate(batch_model, drop_nones(batch), None, findings) if claims else None, tuple(findings))


def batch_or_raise(document: Read837[B]) -> B:
    """The batch of a read; an error finding (a claim that cannot be read, a trailer count that
    does not match) raises X12Error. Our writer's rules do not."""
    errors = [f for f in document.findings if f.severity == "error"]
    if errors or document.batch is None:
        first = errors[0] if errors else X12Issue(code="unreadable", message="interchange holds no claim")
        raise X12Error(first.message, position=first.position, segment_id=first.segment_id)
    return document.batch
