"""837I reader: X12 text -> ClaimBatch (the writer's model), for round trips and ``rcm x12 parse``.

Like the 837P reader (the header, hierarchy and COB loops are ``edi.x837common.reader``'s) it
reads what our writer emits plus other senders' variations, skips loops it does not model
(2010AB/AC, 2330C-I, 2410, 2420A-D, ...), reports our writer's rules a partner breaks as warning
findings and leaves out, with an error finding, a claim that does not fit the model.
"""

from __future__ import annotations

from edi.envelope import Interchange, read_interchange
from edi.errors import X12Error
from edi.segments import Segment
from edi.x837common.reader import (
    Doc,
    Read837,
    TransactionReader,
    batch_or_raise,
    opt,
    person,
    procedure,
    read_date,
    read_document,
    read_period,
)
from edi.x837i.model import Claim, ClaimBatch

Read837I = Read837[ClaimBatch]

# 2310A-F person NM1s and their claim fields (NM1*77 is the service facility).
_PROVIDERS = {
    "71": "attending_provider",
    "72": "operating_provider",
    "ZZ": "other_operating_provider",
    "82": "rendering_provider",
    "DN": "referring_provider",
}
_LISTS = {"ABF": "other_diagnoses", "BBQ": "other_procedures", "BI": "occurrence_spans", "BH": "occurrence_codes",
          "BE": "value_codes", "BG": "condition_codes", "APR": "reason_for_visit"}


class _Reader(TransactionReader):
    LEVELS = "837I"
    _CLAIM_REFS = {**TransactionReader._CLAIM_REFS, "EA": "medical_record_number"}

    def _seg_PRV(self, seg: Segment) -> None:
        super()._seg_PRV(seg)
        attending: Doc | None = self.claim.get("attending_provider") if self.claim is not None else None
        if seg.el(1) == "AT" and attending is not None and self.target is attending:
            attending["taxonomy"] = seg.el(3)

    def _claim_nm1(self, code: str, seg: Segment) -> bool:
        if self.claim is None or self.line is not None or self.other is not None:
            return False
        if code == "77":
            self.service_facility(seg)
            return True
        field = _PROVIDERS.get(code)
        if field is None:
            return False
        self.claim[field] = {**person(seg), "npi": seg.el(9)}
        self.target = self.claim[field]
        return True

    def claim_doc(self, seg: Segment) -> Doc:
        return {
            "type_of_bill": seg.comp(5, 1),
            "frequency": seg.comp(5, 3),
            "delay_reason": opt(seg.el(20)),
            "other_diagnoses": [],
            "other_procedures": [],
            "occurrence_spans": [],
            "occurrence_codes": [],
            "value_codes": [],
            "condition_codes": [],
            "reason_for_visit": [],
        }

    def _claim_dtp(self, seg: Segment) -> None:
        assert self.claim is not None
        qualifier, form, value = seg.el(1), seg.el(2), seg.el(3)
        if qualifier == "434":
            self.claim["statement_from"], self.claim["statement_through"] = read_period(seg, 3)
        elif qualifier == "435":
            self.claim["admission_date"] = read_date(seg, 3, value[:8])
            if form == "DT":
                self.claim["admission_hour"] = value[8:]
        elif qualifier == "096":
            self.claim["discharge_hour"] = value

    def _seg_CL1(self, seg: Segment) -> None:
        if self.claim is not None:
            self.claim.update(admission_type=opt(seg.el(1)), admission_source=opt(seg.el(2)), patient_status=seg.el(3))

    def _seg_AMT(self, seg: Segment) -> None:
        if seg.el(1) == "F3" and self.claim is not None and self.other is None and self.line is None:
            self.claim["patient_estimated_amount_due"] = seg.el(2)
        else:
            super()._seg_AMT(seg)

    def _seg_HI(self, seg: Segment) -> None:
        if self.claim is None:
            return
        for i in range(1, 13):
            comps = seg.comps(i)
            if len(comps) < 2:
                continue
            qualifier, code = comps[0], comps[1]
            poa = opt(seg.comp(i, 9))
            if qualifier in {"ABK", "BK"}:
                self.claim["principal_diagnosis"] = {"code": code, "present_on_admission": poa}
            elif qualifier in {"ABJ", "BJ"}:
                self.claim["admitting_diagnosis"] = code
            elif qualifier == "DR":
                self.claim["drg"] = code
            elif qualifier in {"BBR", "BR"}:
                self.claim["principal_procedure"] = {"code": code, "performed_on": read_date(seg, i, seg.comp(i, 4))}
            elif qualifier in _LISTS:
                self.claim[_LISTS[qualifier]].append(self._hi_item(seg, i, qualifier, code, poa))

    @staticmethod
    def _hi_item(seg: Segment, i: int, qualifier: str, code: str, poa: str | None) -> object:
        if qualifier == "ABF":
            return {"code": code, "present_on_admission": poa}
        if qualifier in {"BBQ", "BH"}:
            when = "performed_on" if qualifier == "BBQ" else "occurred_on"
            return {"code": code, when: read_date(seg, i, seg.comp(i, 4))}
        if qualifier == "BI":
            start, _, end = seg.comp(i, 4).partition("-")
            return {"code": code, "from_date": read_date(seg, i, start), "through_date": read_date(seg, i, end)}
        if qualifier == "BE":
            return {"code": code, "amount": seg.comp(i, 5)}
        return code  # BG condition, APR reason for visit

    def _seg_SV2(self, seg: Segment) -> None:
        if self.line is None:
            raise X12Error("SV2 outside a service line (no LX)", position=seg.position, segment_id="SV2")
        code, modifiers = procedure(seg, 2) if seg.el(2) else (None, [])
        self.line.update(
            revenue_code=seg.el(1),
            procedure_code=code,
            modifiers=modifiers,
            charge=seg.el(3),
            unit_code=seg.el(4),
            units=seg.el(5),
            non_covered_charge=opt(seg.el(7)),
        )

    def _seg_SVD(self, seg: Segment) -> None:
        code, modifiers = procedure(seg, 3) if seg.el(3) else (None, [])
        self.svd(seg, {"procedure_code": code, "modifiers": modifiers, "revenue_code": seg.el(4)})


def read_837i_document(interchange: Interchange) -> Read837I:
    """Build the typed batch from an already-parsed interchange holding 837I transaction sets."""
    return read_document(interchange, _Reader, Claim, ClaimBatch)


def read_837i_interchange(interchange: Interchange) -> ClaimBatch:
    """The batch of an interchange; an error finding raises X12Error (see ``read_837i_document``)."""
    return batch_or_raise(read_837i_document(interchange))


def read_837i(text: str) -> ClaimBatch:
    """Parse an 837I interchange into the typed batch (envelope checks included)."""
    return read_837i_interchange(read_interchange(text))
