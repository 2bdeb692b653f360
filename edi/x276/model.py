"""The X12 276 (005010X212) claim status request model.

One ``StatusInquiry`` is one claim asked about: the writer nests inquiries into the guide's
hierarchy (HL 20 payer -> 21 information receiver -> 19 provider -> 22 subscriber -> 23
dependent, then the 2200D/E claim status tracking loop; see ``edi.claimstatus``), the reader
flattens it back. Each inquiry carries its own ``trace_number`` (TRN02, echoed by the 277) and
the claim's ``patient_control_number`` (REF*EJ, the 837 CLM01).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from edi.claimstatus import Person

IMPLEMENTATION = "005010X212"
FUNCTIONAL_ID = "HR"


@dataclass(frozen=True, kw_only=True)
class StatusInquiry:
    """One claim status request (loops 2000A..2200D/E)."""

    trace_number: str  # 2200D/E TRN02: our id, echoed in the 277's TRN*2
    payer_name: str  # 2100A NM103
    payer_id: str  # 2100A NM109 (PI)
    provider_name: str  # 2100C NM103
    provider_npi: str  # 2100C NM109 (XX)
    subscriber: Person
    dependent: Person | None = None  # the patient, when not the subscriber
    patient_control_number: str  # REF*EJ = 837 CLM01 (our submission id)
    payer_claim_control_number: str | None = None  # REF*1K
    type_of_bill: str | None = None  # REF*BLT, institutional claims
    total_charge: Decimal  # AMT*T3
    service_date: date  # DTP*472
    service_end_date: date | None = None  # DTP*472 RD8 when the claim spans several days
    receiver_name: str = ""  # 2100B NM103; "" writes the provider's name
    receiver_id: str = ""  # 2100B NM109 (46, ETIN); "" writes the envelope's sender id
