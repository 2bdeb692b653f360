"""837P reader: X12 text -> ClaimBatch (the writer's model), for round trips and ``rcm x12 parse``.

It reads what our writer emits plus the common variations of other senders (NM1 ids in
any order of optional segments); loops it does not model (2010AB, 2310D, 2420B/C/D/F, ...)
are skipped. Our writer's own rules (NPI check digit, PRV*BI, ZIP+4, id character sets: see
``model.READING``) do not stop it: ``read_837p_document`` returns the data with each breach as a
finding. A claim that does not fit the model at all is left out with an error finding; a
structure it cannot follow raises X12Error. Messages name segment positions and model fields,
never values. The header, hierarchy and COB loops are read by ``edi.x837common.reader``.
"""

from __future__ import annotations

from edi.envelope import Interchange, read_interchange
from edi.errors import X12Error
from edi.segments import Segment
from edi.x837.model import Claim, ClaimBatch
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
)

Read837P = Read837[ClaimBatch]


class _Reader(TransactionReader):
    LEVELS = "837P"

    def _seg_PRV(self, seg: Segment) -> None:
        super()._seg_PRV(seg)
        if seg.el(1) == "PE" and self.claim is not None and self.target is self.claim.get("rendering_provider"):
            self.claim["rendering_provider"]["taxonomy"] = seg.el(3)
        elif seg.el(1) == "PE" and self.line is not None and self.target is self.line.get("rendering_provider"):
            self.line["rendering_provider"]["taxonomy"] = seg.el(3)

    def _claim_nm1(self, code: str, seg: Segment) -> bool:
        if self.claim is None:
            return False
        if code in {"DN", "P3", "82"} and self.line is None and self.other is None:
            key = "rendering_provider" if code == "82" else "referring_provider"
            self.claim[key] = {**person(seg), "npi": seg.el(9)}
            self.target = self.claim[key]
        elif code == "77" and self.line is None and self.other is None:
            self.service_facility(seg)
        elif code in {"82", "DK"} and self.line is not None and self.adjudication is None:
            key = "rendering_provider" if code == "82" else "ordering_provider"
            self.line[key] = {**person(seg), "npi": seg.el(9)}
            # 2420E may carry the orderer's address, which the model does not keep.
            self.target = self.line[key] if code == "82" else None
        else:
            return False
        return True

    def _seg_REF(self, seg: Segment) -> None:
        super()._seg_REF(seg)
        if seg.el(1) == "X4" and self.claim is not None and self.other is None and self.line is None:
            self.claim["clia_number"] = seg.el(2)

    def claim_doc(self, seg: Segment) -> Doc:
        return {
            "place_of_service": seg.comp(5, 1),
            "frequency": seg.comp(5, 3),
            "provider_signature": seg.el(6) == "Y",
            "related_causes": [c for c in seg.comps(11)[:2] if c],
            "accident_state": opt(seg.comp(11, 4)),
            "diagnoses": [],
        }

    def _seg_HI(self, seg: Segment) -> None:
        if self.claim is None:
            return
        for i in range(1, 13):
            if seg.comp(i, 1) in {"ABK", "ABF", "BK", "BF"}:
                self.claim["diagnoses"].append(seg.comp(i, 2))

    def _claim_dtp(self, seg: Segment) -> None:
        if seg.el(1) == "439":
            assert self.claim is not None
            self.claim["accident_date"] = read_date(seg, 3)

    def _seg_SV1(self, seg: Segment) -> None:
        if self.line is None:
            raise X12Error("SV1 outside a service line (no LX)", position=seg.position, segment_id="SV1")
        code, modifiers = procedure(seg, 1)
        pointers = [p for p in seg.comps(7) if p]
        self.line.update(
            procedure_code=code,
            modifiers=modifiers,
            charge=seg.el(2),
            unit_code=seg.el(3),
            units=seg.el(4),
            place_of_service=opt(seg.el(5)),
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
        code, modifiers = procedure(seg, 3)
        self.svd(seg, {"procedure_code": code, "modifiers": modifiers})


def read_837p_document(interchange: Interchange) -> Read837P:
    """Build the typed batch from an already-parsed interchange holding 837P transaction sets."""
    return read_document(interchange, _Reader, Claim, ClaimBatch)


def read_837p_interchange(interchange: Interchange) -> ClaimBatch:
    """The batch of an interchange; an error finding (a claim that cannot be read, a trailer count
    that does not match) raises X12Error. Our writer's rules do not: see ``read_837p_document``."""
    return batch_or_raise(read_837p_document(interchange))


def read_837p(text: str) -> ClaimBatch:
    """Parse an 837P interchange into the typed batch (envelope checks included)."""
    return read_837p_interchange(read_interchange(text))
