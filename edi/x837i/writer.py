"""837I (005010X223A2) writer: ClaimBatch -> X12 text. The header, hierarchy and COB loops are
``edi.x837common.writer``'s; this module writes the institutional 2300 claim, its 2310A-F
providers and its 2400 SV2 lines."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from edi.envelope import Element, SegmentSpec
from edi.x837common.model import ClaimBase, Provider
from edi.x837common.writer import Builder, Renderer, fmt_amount, fmt_date, fmt_period
from edi.x837i.model import HI_REPEATS, IMPLEMENTATION_837I, Claim, ClaimBatch, LineAdjudication, ServiceLine


def _hi(composites: Sequence[Element]) -> list[SegmentSpec]:
    """One HI segment per 12 composites, as the guide splits a long code list (the model allows
    two segments' worth, what the map repeats)."""
    return [["HI", *composites[start : start + HI_REPEATS]] for start in range(0, len(composites), HI_REPEATS)]


def _poa(poa: str | None) -> list[str]:
    # HIxx-09 is the ninth component; components 3-8 stay empty.
    return ["", "", "", "", "", "", poa] if poa else []


def _rd8(start: date, end: date) -> str:
    """An RD8 range, even of one day (DTP*434 and HI BI take no D8)."""
    return f"{fmt_date(start)}-{fmt_date(end)}"


class _Builder(Builder):
    def provider(self, qualifier: str, provider: Provider, where: str) -> None:
        self.person_nm1(qualifier, provider, "XX", provider.npi, where)
        if qualifier == "71" and provider.taxonomy:
            self.add(["PRV", "AT", "PXC", provider.taxonomy])

    def claim(self, claim: ClaimBase) -> None:
        assert isinstance(claim, Claim)
        clm: list[Element] = [
            "CLM",
            claim.submission_id,
            fmt_amount(claim.charge),
            "",
            "",
            [claim.type_of_bill, "A", claim.frequency],
            "",
            claim.assignment,
            claim.benefits_assigned,
            claim.release_of_information,
        ]
        if claim.delay_reason:
            clm += [""] * 10 + [claim.delay_reason]  # CLM20
        self.add(clm)
        # Map order inside 2300: DTP*096, 434, 435; CL1; AMT*F3; REF*9F, G1, F8, EA; HI.
        if claim.discharge_hour:
            self.add(["DTP", "096", "TM", claim.discharge_hour])
        self.add(["DTP", "434", "RD8", _rd8(claim.statement_from, claim.statement_through)])
        if claim.admission_date is not None:
            if claim.admission_hour:
                self.add(["DTP", "435", "DT", fmt_date(claim.admission_date) + claim.admission_hour])
            else:
                self.add(["DTP", "435", "D8", fmt_date(claim.admission_date)])
        self.add(["CL1", claim.admission_type or "", claim.admission_source or "", claim.patient_status])
        if claim.patient_estimated_amount_due is not None:
            self.add(["AMT", "F3", fmt_amount(claim.patient_estimated_amount_due)])
        self.claim_refs(claim)
        if claim.medical_record_number:
            self.add(["REF", "EA", claim.medical_record_number])
        self.codes(claim)
        providers = [
            ("71", claim.attending_provider, "attending provider"),
            ("72", claim.operating_provider, "operating physician"),
            ("ZZ", claim.other_operating_provider, "other operating physician"),
            ("82", claim.rendering_provider, "rendering provider"),
        ]
        for qualifier, provider, where in providers:
            if provider is not None:
                self.provider(qualifier, provider, where)
        if claim.service_facility is not None:
            self.service_facility(claim.service_facility)
        if claim.referring_provider is not None:
            self.provider("DN", claim.referring_provider, "referring provider")
        for other in claim.other_payers:
            self.other_payer(claim, other)
        for n, line in enumerate(claim.lines, start=1):
            self.line(n, line)

    def codes(self, claim: Claim) -> None:
        """The HI segments in the map's order, each list split at 12 composites a segment."""
        principal = claim.principal_diagnosis
        self.add(["HI", ["ABK", principal.code, *_poa(principal.present_on_admission)]])
        if claim.admitting_diagnosis:
            self.add(["HI", ["ABJ", claim.admitting_diagnosis]])
        if claim.reason_for_visit:
            self.add(["HI", *(["APR", code] for code in claim.reason_for_visit)])
        if claim.drg:
            self.add(["HI", ["DR", claim.drg]])
        self.add(*_hi([["ABF", dx.code, *_poa(dx.present_on_admission)] for dx in claim.other_diagnoses]))
        principal_procedure = claim.principal_procedure
        if principal_procedure is not None:
            self.add(["HI", ["BBR", principal_procedure.code, "D8", fmt_date(principal_procedure.performed_on)]])
        self.add(*_hi([["BBQ", p.code, "D8", fmt_date(p.performed_on)] for p in claim.other_procedures]))
        self.add(
            *_hi([["BI", s.code, "RD8", _rd8(s.from_date, s.through_date)] for s in claim.occurrence_spans]),
            *_hi([["BH", o.code, "D8", fmt_date(o.occurred_on)] for o in claim.occurrence_codes]),
            *_hi([["BE", v.code, "", "", fmt_amount(v.amount)] for v in claim.value_codes]),
            *_hi([["BG", code] for code in claim.condition_codes]),
        )

    def line(self, n: int, line: ServiceLine) -> None:
        procedure: Element = ["HC", line.procedure_code, *line.modifiers] if line.procedure_code else ""
        sv2: list[Element] = [
            "SV2",
            line.revenue_code,
            procedure,
            fmt_amount(line.charge),
            line.unit_code,
            fmt_amount(line.units),
        ]
        if line.non_covered_charge is not None:
            sv2 += ["", fmt_amount(line.non_covered_charge)]  # SV207
        self.add(["LX", str(n)], sv2)
        if line.service_date is not None:
            self.add(["DTP", "472", *fmt_period(line.service_date, line.service_date_end)])
        if line.line_control_number:
            self.add(["REF", "6R", line.line_control_number])
        for adj in line.adjudications:
            self.line_adjudication(adj)

    def line_adjudication(self, adj: LineAdjudication) -> None:
        procedure: Element = ["HC", adj.procedure_code, *adj.modifiers] if adj.procedure_code else ""
        paid, units = fmt_amount(adj.paid_amount), fmt_amount(adj.units)
        self.adjudication(["SVD", adj.payer_id, paid, procedure, adj.revenue_code, units], adj)


render_837i: Renderer[ClaimBatch] = Renderer(IMPLEMENTATION_837I, _Builder)
"""Render a whole 837I interchange (one GS, one ST per ``max_claims_per_transaction`` claims)."""
