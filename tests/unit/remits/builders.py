"""835 models for the remits tests (built with edi's dataclasses)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from edi.x835 import (
    Address,
    Adjustment,
    AdjustmentGroup,
    Amount,
    ClaimPayment,
    ClaimStatus,
    Contact,
    EntityName,
    HandlingCode,
    HeaderNumber,
    Payee,
    Payer,
    PaymentMethod,
    Procedure,
    ProviderAdjustment,
    Reference,
    RemittanceTransaction,
    ServiceLine,
)
from services.remits.domain.posting import ExpectedLine

D = Decimal


def adj(group: str, reason: str, amount: str) -> Adjustment:
    return Adjustment(AdjustmentGroup(group), reason, D(amount))


def line(charge: str, paid: str, *adjustments: Adjustment, lcn: str = "", code: str = "99213",
         allowed: str | None = None) -> ServiceLine:
    return ServiceLine(procedure=Procedure(qualifier="HC", code=code), charge=D(charge), paid=D(paid),
                       adjustments=adjustments, line_control_number=lcn, service_date=date(2026, 3, 2),
                       amounts=(Amount("B6", D(allowed)),) if allowed is not None else ())


def claim(pcn: str, status: str, charge: str, paid: str, *lines: ServiceLine,
          adjustments: tuple[Adjustment, ...] = (), pr: str | None = None, pccn: str = "PAYER0001") -> ClaimPayment:
    if pr is None:
        total = sum((a.amount for a in adjustments if a.group.value == "PR"), D("0")) + sum(
            (a.amount for ln in lines for a in ln.adjustments if a.group.value == "PR"), D("0"))
        pr = str(total)
    return ClaimPayment(patient_control_number=pcn, status=ClaimStatus(status), charge=D(charge), paid=D(paid),
                        patient_responsibility=D(pr), filing_indicator="CI", payer_claim_control_number=pccn,
                        adjustments=adjustments,
                        patient=EntityName(entity="QC", last_name="DOE", first_name="JANE"),
                        service_lines=lines)


PAYER = Payer(name="ACME HEALTH", address=Address(line1="1 MAIN ST", city="SPRINGFIELD", state="IL",
                                                   postal_code="62701"), id_qualifier="XV", id="ACME01",
              contacts=(Contact("BL", "EDI DESK", (("TE", "8005551212"),)),))
PAYEE = Payee(name="SUNRISE CLINIC", id_qualifier="XX", id="1234567893", references=(Reference("TJ", "123456789"),))


def plb(reason: str, amount: str, reference: str = "") -> ProviderAdjustment:
    return ProviderAdjustment(provider_id="1234567893", fiscal_period_date=date(2026, 12, 31), reason=reason,
                              reference=reference, amount=D(amount))


def remittance(trace: str, *claims: ClaimPayment, plbs: tuple[ProviderAdjustment, ...] = (),
               payer: Payer = PAYER) -> RemittanceTransaction:
    total = sum((c.paid for c in claims), D("0")) - sum((p.amount for p in plbs), D("0"))
    return RemittanceTransaction(
        handling_code=HandlingCode.PAYMENT_WITH_REMITTANCE if total > 0 else HandlingCode.REMITTANCE_ONLY,
        total_payment=total, payment_method=PaymentMethod.ACH if total > 0 else PaymentMethod.NON,
        payment_date=date(2026, 4, 8), trace_number=trace, trace_payer_id="1999999999", payer=payer, payee=PAYEE,
        header_numbers=(HeaderNumber(1, claims),) if claims else (), provider_adjustments=plbs)


def expected(*specs: tuple[str, str, str | None]) -> list[ExpectedLine]:
    """(line control number, charge, expected allowed) per submitted line."""
    return [ExpectedLine(line_control_number=lcn, charge_id=f"chg_{lcn}", procedure_code="99213",
                         service_date=date(2026, 3, 2), charge=D(charge),
                         expected_allowed=None if exp is None else D(exp)) for lcn, charge, exp in specs]
