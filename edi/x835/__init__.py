"""X12 835 (005010X221A1) health care claim payment/advice.

``model`` holds the frozen dataclasses, ``reader`` (``read_835``) and ``writer`` (``write_835``)
turn text into the model and back, ``json`` produces the normalized document other code
(posting, CLI) relies on, and ``balancing`` reports every line, claim and transaction check,
never raising, so an unbalanced 835 can still be read and quarantined.

The writer is imported on first use (``__getattr__``): reading an 835 (``rcm x12 parse``, the
remits intake) does not pay for building it.
"""

from typing import TYPE_CHECKING, Any

from edi.composites import Procedure
from edi.x835.balancing import BalanceCheck, balancing_issues, check_835, is_balanced
from edi.x835.json import to_json_dict, transaction_json
from edi.x835.model import (
    FUNCTIONAL_ID,
    IMPLEMENTATION,
    Address,
    Adjustment,
    AdjustmentGroup,
    Amount,
    BankDetails,
    ClaimPayment,
    ClaimStatus,
    Contact,
    EntityName,
    HandlingCode,
    HeaderNumber,
    InpatientAdjudication,
    OutpatientAdjudication,
    Payee,
    Payer,
    PaymentMethod,
    ProviderAdjustment,
    Quantity,
    Reference,
    Remark,
    Remittance835,
    RemittanceTransaction,
    ServiceLine,
)
from edi.x835.reader import parse_cas, read_835, read_transaction_set

if TYPE_CHECKING:
    from edi.x835.writer import cas_specs, write_835

_WRITER = frozenset({"cas_specs", "write_835"})


def __getattr__(name: str) -> Any:
    if name in _WRITER:
        from edi.x835 import writer

        return getattr(writer, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

__all__ = [
    "FUNCTIONAL_ID",
    "IMPLEMENTATION",
    "Address",
    "Adjustment",
    "AdjustmentGroup",
    "Amount",
    "BalanceCheck",
    "BankDetails",
    "ClaimPayment",
    "ClaimStatus",
    "Contact",
    "EntityName",
    "HandlingCode",
    "HeaderNumber",
    "InpatientAdjudication",
    "OutpatientAdjudication",
    "Payee",
    "Payer",
    "PaymentMethod",
    "Procedure",
    "ProviderAdjustment",
    "Quantity",
    "Reference",
    "Remark",
    "Remittance835",
    "RemittanceTransaction",
    "ServiceLine",
    "balancing_issues",
    "cas_specs",
    "check_835",
    "is_balanced",
    "parse_cas",
    "read_835",
    "read_transaction_set",
    "to_json_dict",
    "transaction_json",
    "write_835",
]
