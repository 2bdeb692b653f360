"""X12 837I (005010X223A2) institutional claim, the UB-04's electronic form.

``model`` holds the typed claim batch (its ``model_dump(mode="json")`` is the 837I's JSON form),
``writer`` renders it (``render_837i``), ``reader`` reads it back (``read_837i``) and ``checks``
holds our checks beyond pyx12 (NPI check digits, CLM02 = sum of SV203, type of bill, statement
period, admission date/hour). What it shares with the 837P is ``edi.x837common``.
"""

from edi.x837i.checks import check_837i
from edi.x837i.model import (
    IMPLEMENTATION_837I,
    MAX_HI_CODES,
    MAX_LINES,
    Claim,
    ClaimBatch,
    CodedDiagnosis,
    LineAdjudication,
    Occurrence,
    OccurrenceSpan,
    ProcedureCode,
    ServiceLine,
    ValueAmount,
)
from edi.x837i.reader import Read837I, read_837i, read_837i_document, read_837i_interchange
from edi.x837i.writer import render_837i

__all__ = [
    "IMPLEMENTATION_837I",
    "MAX_HI_CODES",
    "MAX_LINES",
    "Claim",
    "ClaimBatch",
    "CodedDiagnosis",
    "LineAdjudication",
    "Occurrence",
    "OccurrenceSpan",
    "ProcedureCode",
    "Read837I",
    "ServiceLine",
    "ValueAmount",
    "check_837i",
    "read_837i",
    "read_837i_document",
    "read_837i_interchange",
    "render_837i",
]
