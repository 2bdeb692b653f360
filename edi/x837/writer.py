"""837P (005010X222A1) writer: ClaimBatch -> X12 text. The header, hierarchy and COB loops are
``edi.x837common.writer``'s; this module writes the 2300 claim, its 2310 providers and 2400 lines."""

from __future__ import annotations

from collections.abc import Sequence

from edi.envelope import SegmentSpec
from edi.segments import Delimiters
from edi.x837.model import IMPLEMENTATION_837P, Claim, ClaimBatch, LineAdjudication, ServiceLine
from edi.x837common.model import ClaimBase, Provider
from edi.x837common.writer import (
    MAX_CLAIMS_PER_TRANSACTION,
    Builder,
    Renderer,
    cas_segments,
    fmt_amount,
    fmt_date,
    fmt_period,
)
from edi.x837common.writer import transaction_body as _transaction_body

__all__ = ["MAX_CLAIMS_PER_TRANSACTION", "cas_segments", "fmt_amount", "fmt_date", "render_837p", "transaction_body"]


class _Builder(Builder):
    def provider_nm1(self, qualifier: str, provider: Provider, where: str) -> None:
        self.person_nm1(qualifier, provider, "XX", provider.npi, where)
        if provider.taxonomy and qualifier == "82":
            self.add(["PRV", "PE", "PXC", provider.taxonomy])

    def claim(self, claim: ClaimBase) -> None:
        assert isinstance(claim, Claim)
        causes = [*claim.related_causes, "", ""]
        self.add(
            [
                "CLM",
                claim.submission_id,
                fmt_amount(claim.charge),
                "",
                "",
                [claim.place_of_service, "B", claim.frequency],
                "Y" if claim.provider_signature else "N",
                claim.assignment,
                claim.benefits_assigned,
                claim.release_of_information,
                "",
                [causes[0], causes[1], "", claim.accident_state or ""],
            ]
        )
        if claim.accident_date is not None:
            self.add(["DTP", "439", "D8", fmt_date(claim.accident_date)])
        # Map order inside 2300: REF*9F, G1, F8, X4.
        self.claim_refs(claim)
        if claim.clia_number:
            self.add(["REF", "X4", claim.clia_number])
        self.add(["HI"] + [["ABK" if i == 0 else "ABF", code] for i, code in enumerate(claim.diagnoses)])
        if claim.referring_provider is not None:
            self.provider_nm1("DN", claim.referring_provider, "referring provider")
        if claim.rendering_provider is not None:
            self.provider_nm1("82", claim.rendering_provider, "rendering provider")
        if claim.service_facility is not None:
            self.service_facility(claim.service_facility)
        for other in claim.other_payers:
            self.other_payer(claim, other)
        for n, line in enumerate(claim.lines, start=1):
            self.line(n, line)

    def line(self, n: int, line: ServiceLine) -> None:
        self.add(
            ["LX", str(n)],
            [
                "SV1",
                ["HC", line.procedure_code, *line.modifiers],
                fmt_amount(line.charge),
                line.unit_code,
                fmt_amount(line.units),
                line.place_of_service or "",
                "",
                [str(p) for p in line.diagnosis_pointers],
            ],
            ["DTP", "472", *fmt_period(line.service_date, line.service_date_end)],
        )
        if line.line_control_number:
            self.add(["REF", "6R", line.line_control_number])
        if line.drug is not None:
            self.add(
                ["LIN", "", "N4", line.drug.ndc],
                ["CTP", "", "", "", fmt_amount(line.drug.quantity), line.drug.unit],
            )
        if line.rendering_provider is not None:
            self.provider_nm1("82", line.rendering_provider, "line rendering provider")
        if line.ordering_provider is not None:
            self.provider_nm1("DK", line.ordering_provider, "ordering provider")
        for adj in line.adjudications:
            self.line_adjudication(adj)

    def line_adjudication(self, adj: LineAdjudication) -> None:
        procedure = ["HC", adj.procedure_code, *adj.modifiers]
        self.adjudication(["SVD", adj.payer_id, fmt_amount(adj.paid_amount), procedure, "", fmt_amount(adj.units)], adj)


def transaction_body(batch: ClaimBatch, claims: Sequence[Claim], delimiters: Delimiters) -> list[SegmentSpec]:
    """Segments of one 837P transaction set between ST and SE."""
    return _transaction_body(batch, claims, _Builder(delimiters))


render_837p: Renderer[ClaimBatch] = Renderer(IMPLEMENTATION_837P, _Builder)
"""Render a whole 837P interchange (one GS, one ST per ``max_claims_per_transaction`` claims)."""
