"""Typed values shared by every contract: money, quantities, codes and identifiers.

Each type validates its own shape and normalizes what senders commonly vary (an ICD-10
dot, a ZIP+4 hyphen, lowercase modifiers). Error messages are fixed strings: they never
echo the rejected value, because the value may be PHI.

Shape checks only: whether a code exists (a billable ICD-10-CM leaf, a licensed CPT code,
a payer on file) is business validation, done by the service that owns the data.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any

from pydantic import PlainSerializer, PlainValidator, ValidationInfo, WithJsonSchema
from pydantic_core import PydanticCustomError

__all__ = [
    "AdmissionSource",
    "CarcCode",
    "ChargemasterCode",
    "ClaimSubmissionId",
    "CliaNumber",
    "DrgCode",
    "EditId",
    "Email",
    "EventTypeName",
    "Factor",
    "GroupControlNumber",
    "Icd10Code",
    "Icd10PcsCode",
    "IdempotencyKey",
    "InterchangeControlNumber",
    "LineControlNumber",
    "MemberId",
    "Modifier",
    "Money",
    "Ndc",
    "NonNegativeMoney",
    "Npi",
    "NubcCode",
    "OpaqueId",
    "PatientStatus",
    "PayerClaimControlNumber",
    "PayerId",
    "Phone",
    "PlaceOfService",
    "PositiveMoney",
    "ProcedureCode",
    "Quantity",
    "RarcCode",
    "ReferenceNumber",
    "RevenueCode",
    "Sha256Hex",
    "SourceId",
    "SourceSystem",
    "StateCode",
    "TaxId",
    "Taxonomy",
    "TemplateId",
    "TransactionSetControlNumber",
    "TypeOfBill",
    "Units",
    "ZipCode",
    "ZipPlus4",
    "money_str",
    "npi_is_valid",
    "to_money",
]

CENT = Decimal("0.01")
_ZERO_MONEY = Decimal("0.00")
_MONEY_LIMIT = Decimal("1e10")

# numeric(12,2) in Postgres: ten integer digits at most.
_MONEY_RE = re.compile(r"^-?[0-9]{1,10}(\.[0-9]{1,2})?$")
_UNSIGNED_MONEY_RE = re.compile(r"^[0-9]{1,10}(\.[0-9]{1,2})?$")
_QUANTITY_RE = re.compile(r"^-?[0-9]{1,7}(\.[0-9]{1,3})?$")


# --------------------------------------------------------------------------- NPI


def npi_is_valid(value: str) -> bool:
    """True when `value` is a 10-digit NPI starting with 1 or 2 whose check digit is right.

    The check digit is Luhn over "80840" + the first nine digits (the NPI is an ISO 7812
    card number with the 80840 health-industry prefix).
    """
    if len(value) != 10 or not value.isascii() or not value.isdigit() or value[0] not in "12":
        return False
    digits = [int(c) for c in "80840" + value[:9]]
    total = 0
    # Doubling starts at the rightmost payload digit because the check digit goes after it.
    for i, digit in enumerate(reversed(digits)):
        value_at = digit * 2 if i % 2 == 0 else digit
        total += value_at - 9 if value_at > 9 else value_at
    return (10 - total % 10) % 10 == int(value[9])


# --------------------------------------------------------------------------- money


def to_money(value: Any, *, allow_negative: bool = True, allow_zero: bool = True, json_mode: bool = False) -> Decimal:
    """Parse a money value: a decimal string (or, from Python, a Decimal/int) with <= 2 places.

    Floats are refused outright: a binary float cannot carry cents exactly.
    """
    if (type(value) is Decimal and not json_mode and value.as_tuple().exponent == -2
            and -_MONEY_LIMIT < value < _MONEY_LIMIT):
        # The common case from Python (amounts the domain already rounded to cents): nothing to
        # quantize. Anything else (NaN, more places, out of range, a subclass) takes the path below.
        if not value:
            if not allow_zero:
                raise PydanticCustomError("money_not_positive", "money must be greater than zero")
            return _ZERO_MONEY  # no "-0.00" in ledgers or JSON
        if not allow_negative and value < 0:
            raise PydanticCustomError("money_negative", "money must not be negative")
        return value
    if isinstance(value, bool | float):
        raise PydanticCustomError("money_type", 'money must be a decimal string such as "125.00", never a number')
    if isinstance(value, str):
        pattern = _MONEY_RE if allow_negative else _UNSIGNED_MONEY_RE
        if not pattern.fullmatch(value):
            raise PydanticCustomError(
                "money_format",
                "money must be a decimal string with at most 10 integer digits and at most 2 decimal places",
            )
        amount = Decimal(value)
    elif isinstance(value, Decimal) and not json_mode:
        if not value.is_finite():
            raise PydanticCustomError("money_format", "money must be a finite decimal")
        amount = value
        if amount != amount.quantize(CENT) or abs(amount) >= _MONEY_LIMIT:
            raise PydanticCustomError(
                "money_format",
                "money must have at most 10 integer digits and at most 2 decimal places",
            )
    elif isinstance(value, int) and not json_mode:
        amount = Decimal(value)
        if abs(amount) >= _MONEY_LIMIT:
            raise PydanticCustomError("money_format", "money must have at most 10 integer digits")
    else:
        raise PydanticCustomError("money_type", 'money must be a decimal string such as "125.00"')
    amount = amount.quantize(CENT)
    if amount == 0:
        amount = _ZERO_MONEY  # no "-0.00" in ledgers or JSON
    if not allow_negative and amount < 0:
        raise PydanticCustomError("money_negative", "money must not be negative")
    if not allow_zero and amount == 0:
        raise PydanticCustomError("money_not_positive", "money must be greater than zero")
    return amount


def money_str(value: Decimal) -> str:
    """The wire form of an amount: always two places, e.g. "125.00"."""
    text = str(value)
    # str() of an amount already in cents is its wire form (no exponent, two places); every
    # other form ends otherwise ("12.5", "1E+3", "NaN") and is quantized as before.
    return text if text[-3:-2] == "." else f"{value.quantize(CENT):f}"


def _money_validator(*, allow_negative: bool, allow_zero: bool) -> Callable[[Any, ValidationInfo], Decimal]:
    def validate(value: Any, info: ValidationInfo) -> Decimal:
        return to_money(value, allow_negative=allow_negative, allow_zero=allow_zero, json_mode=info.mode == "json")

    return validate


_MONEY_SERIALIZER = PlainSerializer(money_str, return_type=str, when_used="json")

Money = Annotated[
    Decimal,
    PlainValidator(_money_validator(allow_negative=True, allow_zero=True)),
    _MONEY_SERIALIZER,
    WithJsonSchema(
        {
            "type": "string",
            "pattern": _MONEY_RE.pattern,
            "description": "Signed amount in US dollars as a decimal string; always serialized with two places.",
            "examples": ["125.00", "-40.00"],
        }
    ),
]
"""Signed amount (adjustments, reversals, variances)."""

NonNegativeMoney = Annotated[
    Decimal,
    PlainValidator(_money_validator(allow_negative=False, allow_zero=True)),
    _MONEY_SERIALIZER,
    WithJsonSchema(
        {
            "type": "string",
            "pattern": _UNSIGNED_MONEY_RE.pattern,
            "description": "Amount in US dollars (>= 0) as a decimal string; always serialized with two places.",
            "examples": ["125.00", "0.00"],
        }
    ),
]

PositiveMoney = Annotated[
    Decimal,
    PlainValidator(_money_validator(allow_negative=False, allow_zero=False)),
    _MONEY_SERIALIZER,
    WithJsonSchema(
        {
            "type": "string",
            "pattern": _UNSIGNED_MONEY_RE.pattern,
            "description": "Amount in US dollars, greater than zero, as a decimal string; always "
            "serialized with two places.",
            "examples": ["40.00"],
        }
    ),
]


# --------------------------------------------------------------------------- quantities


def _quantity_validator(*, positive: bool) -> Callable[[Any, ValidationInfo], Decimal]:
    def validate(value: Any, info: ValidationInfo) -> Decimal:
        if isinstance(value, bool | float):
            raise PydanticCustomError("quantity_type", 'quantity must be a decimal string such as "1"')
        if isinstance(value, str):
            if not _QUANTITY_RE.fullmatch(value):
                raise PydanticCustomError(
                    "quantity_format",
                    "quantity must be a decimal string with at most 7 integer digits and 3 decimal places",
                )
            qty = Decimal(value)
        elif isinstance(value, Decimal | int) and info.mode != "json":
            try:
                qty = Decimal(value)
                ok = qty.is_finite() and qty == qty.quantize(Decimal("0.001")) and abs(qty) < Decimal("1e7")
            except InvalidOperation:
                ok = False
            if not ok:
                raise PydanticCustomError(
                    "quantity_format", "quantity must have at most 7 integer digits and 3 decimal places"
                )
        else:
            raise PydanticCustomError("quantity_type", 'quantity must be a decimal string such as "1"')
        if positive and qty <= 0:
            raise PydanticCustomError("quantity_not_positive", "quantity must be greater than zero")
        return qty

    return validate


def _quantity_str(value: Decimal) -> str:
    return f"{value:f}"


Units = Annotated[
    Decimal,
    PlainValidator(_quantity_validator(positive=True)),
    PlainSerializer(_quantity_str, return_type=str, when_used="json"),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": r"^[0-9]{1,7}(\.[0-9]{1,3})?$",
            "description": "Service units or drug quantity (> 0) as a decimal string, up to 3 places.",
            "examples": ["1", "2.5"],
        }
    ),
]

Quantity = Annotated[
    Decimal,
    PlainValidator(_quantity_validator(positive=False)),
    PlainSerializer(_quantity_str, return_type=str, when_used="json"),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": _QUANTITY_RE.pattern,
            "description": "Signed quantity as a decimal string, up to 3 places (negative in reversals).",
            "examples": ["1", "-1"],
        }
    ),
]

_FACTOR_RE = re.compile(r"^-?[0-9]{1,10}(\.[0-9]{1,10})?$")


def _factor(value: Any, info: ValidationInfo) -> Decimal:
    if isinstance(value, str) and _FACTOR_RE.fullmatch(value):
        return Decimal(value)
    if isinstance(value, Decimal | int) and not isinstance(value, bool) and info.mode != "json":
        factor = Decimal(value)
        if factor.is_finite() and _FACTOR_RE.fullmatch(f"{factor:f}"):
            return factor
    raise PydanticCustomError(
        "factor_format", 'factor must be a decimal string (up to 10 digits and 10 places) such as "1.2345"'
    )


Factor = Annotated[
    Decimal,
    PlainValidator(_factor),
    PlainSerializer(_quantity_str, return_type=str, when_used="json"),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": _FACTOR_RE.pattern,
            "description": "A factor as a decimal string, as an 835 sends it (X12 R: up to 10 digits and 10"
            " places; a reversal may negate it): a DRG relative weight (CLP12), a reimbursement rate (MOA01).",
            "examples": ["1.2345", "0.8"],
        }
    ),
]


# --------------------------------------------------------------------------- codes and identifiers


def _code(
    *,
    canonical: str,
    error_type: str,
    message: str,
    normalize: Callable[[str], str] | None = None,
    check: Callable[[str], bool] | None = None,
) -> Callable[[Any], str]:
    """Build a validator: optional normalization, then a canonical-shape check.

    The message is a fixed sentence: the rejected value is never part of it.
    """
    rx = re.compile(canonical)

    def validate(value: Any) -> str:
        if not isinstance(value, str):
            raise PydanticCustomError("string_type", "must be a string")
        text = normalize(value) if normalize else value
        if not rx.fullmatch(text) or (check is not None and not check(text)):
            raise PydanticCustomError(error_type, message)
        return text

    return validate


def _schema(pattern: str, description: str, *examples: str, max_length: int | None = None) -> WithJsonSchema:
    out: dict[str, Any] = {"type": "string", "pattern": pattern, "description": description}
    if max_length is not None:
        out["maxLength"] = max_length
    if examples:
        out["examples"] = list(examples)
    return WithJsonSchema(out)


def _strip_icd_dot(value: str) -> str:
    text = value.upper()
    if len(text) > 4 and text[3] == ".":
        text = text[:3] + text[4:]
    return text


def _strip_hyphens(value: str) -> str:
    return value.replace("-", "")


Npi = Annotated[
    str,
    PlainValidator(
        _code(
            canonical=r"^[12][0-9]{9}$",
            error_type="npi_invalid",
            message="NPI must be 10 digits starting with 1 or 2 with a valid check digit",
            check=npi_is_valid,
        )
    ),
    _schema(
        r"^[12][0-9]{9}$",
        "National Provider Identifier: 10 digits, first 1 or 2, Luhn check digit over 80840 + the first nine digits.",
        "1234567893",
    ),
]

Icd10Code = Annotated[
    str,
    PlainValidator(
        _code(
            canonical=r"^[A-Z][0-9][0-9A-Z][0-9A-Z]{0,4}$",
            error_type="icd10_format",
            message="ICD-10-CM code must be a letter, a digit, then 1 to 5 letters or digits (dot optional)",
            normalize=_strip_icd_dot,
        )
    ),
    _schema(
        r"^[A-Za-z][0-9][0-9A-Za-z](\.?[0-9A-Za-z]{1,4})?$",
        "ICD-10-CM diagnosis code. Accepted with or without the dot, any case; carried without "
        "the dot, uppercase (J020). Whether it is billable for the date of service is checked by "
        "the charges service.",
        "J020",
        "E1165",
    ),
]

ProcedureCode = Annotated[
    str,
    PlainValidator(
        _code(
            canonical=r"^([0-9]{4}[0-9FTUM]|[A-V][0-9]{4})$",
            error_type="procedure_code_format",
            message="procedure code must be CPT (5 digits, or 4 digits + F/T/U/M) or HCPCS II (letter A-V + 4 digits)",
            normalize=str.upper,
        )
    ),
    _schema(
        r"^([0-9]{4}[0-9FTUMftum]|[A-Va-v][0-9]{4})$",
        "CPT (5 digits; 4 digits + F, T, U or M for Category II, III, PLA and MAAA) or HCPCS Level "
        "II (letter A-V + 4 digits). Carried uppercase.",
        "99213",
        "J1100",
    ),
]

Modifier = Annotated[
    str,
    PlainValidator(
        _code(
            canonical=r"^[A-Z0-9]{2}$",
            error_type="modifier_format",
            message="modifier must be 2 letters or digits",
            normalize=str.upper,
        )
    ),
    _schema(r"^[A-Za-z0-9]{2}$", "Procedure modifier, 2 characters, carried uppercase.", "25", "GP"),
]

PlaceOfService = Annotated[
    str,
    PlainValidator(
        _code(
            canonical=r"^[0-9]{2}$", error_type="place_of_service_format", message="place of service must be 2 digits"
        )
    ),
    _schema(r"^[0-9]{2}$", "CMS place of service code (11 office, 22 outpatient hospital, 23 ER, ...).", "11"),
]

RevenueCode = Annotated[
    str,
    PlainValidator(
        _code(canonical=r"^[0-9]{4}$", error_type="revenue_code_format", message="revenue code must be 4 digits")
    ),
    _schema(r"^[0-9]{4}$", "NUBC revenue code, 4 digits.", "0510"),
]

DrgCode = Annotated[
    str,
    PlainValidator(
        _code(
            canonical=r"^[0-9A-Z]{1,4}$", error_type="drg_format", message="DRG code must be 1 to 4 letters or digits"
        )
    ),
    _schema(r"^[0-9A-Z]{1,4}$", "Diagnosis related group the payer paid a stay by (835 CLP11), e.g. an MS-DRG.", "194"),
]

Icd10PcsCode = Annotated[
    str,
    PlainValidator(
        _code(
            canonical=r"^[0-9A-HJ-NP-Z]{7}$",
            error_type="icd10pcs_format",
            message="ICD-10-PCS code must be 7 letters or digits, never the letters O or I",
            normalize=str.upper,
        )
    ),
    _schema(
        r"^[0-9A-HJ-NP-Za-hj-np-z]{7}$",
        "ICD-10-PCS inpatient procedure code: 7 characters, digits and letters except O and I (they "
        "would read as 0 and 1). Carried uppercase. Shape only: whether the code exists in the PCS "
        "tables is not checked.",
        "0DTJ4ZZ",
    ),
]

TypeOfBill = Annotated[
    str,
    PlainValidator(
        _code(
            canonical=r"^[1-8][1-9]$",
            error_type="type_of_bill_format",
            message="type of bill must be 2 digits: the facility type (1-8) and the classification (1-9)",
        )
    ),
    _schema(
        r"^[1-8][1-9]$",
        "NUBC type of bill without its leading 0 and its frequency digit (UB-04 FL4 positions 2-3, 837I "
        "CLM05-1): facility type (1 hospital, 2 skilled nursing, 3 home health, 7 clinic, 8 special "
        "facility, ...) then classification (1 inpatient Part A, 3 outpatient, ...). The frequency "
        "(1 original, 7 replacement, 8 void) is the claim's.",
        "11",
        "13",
    ),
]

NubcCode = Annotated[
    str,
    PlainValidator(
        _code(
            canonical=r"^[0-9A-Z]{2}$",
            error_type="nubc_code_format",
            message="NUBC code must be 2 letters or digits",
            normalize=str.upper,
        )
    ),
    _schema(
        r"^[0-9A-Za-z]{2}$",
        "NUBC condition, occurrence, occurrence span or value code (UB-04 FL18-41): 2 letters or digits, "
        "carried uppercase.",
        "01",
        "A1",
    ),
]

AdmissionSource = Annotated[
    str,
    PlainValidator(
        _code(
            canonical=r"^[1-9A-Z]$",
            error_type="admission_source_format",
            message="point of origin (admission source) must be 1 digit 1-9 or 1 uppercase letter",
        )
    ),
    _schema(
        r"^[1-9A-Z]$",
        "NUBC point of origin for admission or visit (UB-04 FL15, 837I CL102): 1 non-health-care point "
        "of origin, 2 clinic or physician's office, 4 transfer from a hospital, ...",
        "1",
    ),
]

PatientStatus = Annotated[
    str,
    PlainValidator(
        _code(
            canonical=r"^[0-9]{2}$",
            error_type="patient_status_format",
            message="patient discharge status must be 2 digits",
        )
    ),
    _schema(
        r"^[0-9]{2}$",
        "NUBC patient discharge status (UB-04 FL17, 837I CL103): 01 home or self-care, 02 short-term "
        "hospital, 03 skilled nursing facility, 20 expired, 30 still a patient, ...",
        "01",
    ),
]

Ndc = Annotated[
    str,
    PlainValidator(
        _code(
            canonical=r"^[0-9]{11}$",
            error_type="ndc_format",
            message="NDC must be 11 digits in 5-4-2 form (hyphens optional)",
            normalize=_strip_hyphens,
        )
    ),
    _schema(
        r"^[0-9]{5}-?[0-9]{4}-?[0-9]{2}$",
        "National Drug Code in the 11-digit 5-4-2 billing form; hyphens accepted, carried without.",
        "00409488801",
    ),
]

CliaNumber = Annotated[
    str,
    PlainValidator(
        _code(
            canonical=r"^[0-9]{2}D[0-9]{7}$",
            error_type="clia_format",
            message="CLIA number must be 10 characters: 2 digits, the letter D, 7 digits",
            normalize=str.upper,
        )
    ),
    _schema(r"^[0-9]{2}[Dd][0-9]{7}$", "CLIA certificate number of a laboratory (CMS): 2 digits, D, 7 digits.",
            "05D0987654"),
]

TaxId = Annotated[
    str,
    PlainValidator(
        _code(
            canonical=r"^[0-9]{9}$",
            error_type="tax_id_format",
            message="tax id must be a 9-digit EIN (hyphen after 2 digits optional)",
            normalize=lambda v: v.replace("-", "", 1) if len(v) == 10 and v[2] == "-" else v,
        )
    ),
    _schema(r"^[0-9]{2}-?[0-9]{7}$", "Employer identification number; carried as 9 digits.", "521234567"),
]

Taxonomy = Annotated[
    str,
    PlainValidator(
        _code(
            canonical=r"^[0-9]{3}[0-9A-Z]{6}X$",
            error_type="taxonomy_format",
            message="taxonomy code must be 10 characters ending in X",
        )
    ),
    _schema(r"^[0-9]{3}[0-9A-Z]{6}X$", "NUCC health care provider taxonomy code.", "207Q00000X"),
]

ZipCode = Annotated[
    str,
    PlainValidator(
        _code(
            canonical=r"^[0-9]{5}([0-9]{4})?$",
            error_type="zip_format",
            message="ZIP code must be 5 digits or ZIP+4 (9 digits, hyphen optional)",
            normalize=_strip_hyphens,
        )
    ),
    _schema(r"^[0-9]{5}(-?[0-9]{4})?$", "US ZIP or ZIP+4; carried without the hyphen.", "94110", "941101234"),
]

ZipPlus4 = Annotated[
    str,
    PlainValidator(
        _code(
            canonical=r"^[0-9]{9}$",
            error_type="zip_plus4_required",
            message="ZIP+4 (9 digits, hyphen optional) is required here",
            normalize=_strip_hyphens,
        )
    ),
    _schema(r"^[0-9]{5}-?[0-9]{4}$", "US ZIP+4 (required for the 837P billing provider).", "941101234"),
]

StateCode = Annotated[
    str,
    PlainValidator(
        _code(canonical=r"^[A-Z]{2}$", error_type="state_format", message="state must be a 2-letter USPS code")
    ),
    _schema(r"^[A-Z]{2}$", "USPS state, district or territory code.", "CA"),
]

Phone = Annotated[
    str,
    PlainValidator(
        _code(
            canonical=r"^\+[1-9][0-9]{7,14}$",
            error_type="phone_format",
            message="phone must be in E.164 form: + and 8 to 15 digits",
        )
    ),
    _schema(r"^\+[1-9][0-9]{7,14}$", "Phone number in E.164 form.", "+14155550142"),
]

Email = Annotated[
    str,
    PlainValidator(
        _code(
            canonical=r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]+$",
            error_type="email_format",
            message="email must look like name@domain.tld (at most 254 characters)",
            check=lambda v: len(v) <= 254,
        )
    ),
    _schema(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]+$", "Email address.", "patient@example.org", max_length=254),
]

OpaqueId = Annotated[
    str,
    PlainValidator(
        _code(
            canonical=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$",
            error_type="opaque_id_format",
            message="identifier must be 1 to 64 letters, digits, '_', '.' or '-'",
        )
    ),
    _schema(
        r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$",
        "Opaque identifier assigned by the platform (carries no PHI; safe in keys and logs).",
        "enc_01JNQ8R6T2",
    ),
]

SourceSystem = Annotated[
    str,
    PlainValidator(
        _code(
            canonical=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,31}$",
            error_type="source_system_format",
            message="source system must be 1 to 32 letters, digits, '_', '.' or '-' (no ':')",
        )
    ),
    _schema(
        r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,31}$",
        "Name of the sending system, agreed at onboarding (e.g. epic-prod).",
        "epic-prod",
    ),
]

SourceId = Annotated[
    str,
    PlainValidator(
        _code(
            canonical=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$",
            error_type="source_id_format",
            message="source identifier must be 1 to 64 letters, digits, '_', '.' or '-'",
        )
    ),
    _schema(
        r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$",
        "The sender's own identifier. Used in Kafka keys and logs, so it must be an opaque "
        "surrogate (e.g. a UUID), never an MRN, SSN or account number.",
        "7f3a9c21-4b6e-4d0a-9e51-2c8d6f0b1a34",
    ),
]

IdempotencyKey = Annotated[
    str,
    PlainValidator(
        _code(
            canonical=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,31}:[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$",
            error_type="idempotency_key_format",
            message="idempotency key must be source_system + ':' + the source transaction id",
        )
    ),
    _schema(
        r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,31}:[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$",
        "source_system + ':' + the sender's transaction id; the same key is processed once.",
        "epic-prod:chg-88412-1",
    ),
]

PayerId = Annotated[
    str,
    PlainValidator(
        _code(
            canonical=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,79}$",
            error_type="payer_id_format",
            message="payer id must be 1 to 80 letters, digits, '_', '.' or '-'",
        )
    ),
    _schema(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,79}$", "Payer identifier (clearinghouse payer id).", "60054"),
]

MemberId = Annotated[
    str,
    PlainValidator(
        _code(
            canonical=r"^[A-Za-z0-9][A-Za-z0-9-]{0,79}$",
            error_type="member_id_format",
            message="member id must be 1 to 80 letters, digits or '-'",
        )
    ),
    _schema(r"^[A-Za-z0-9][A-Za-z0-9-]{0,79}$", "Subscriber's member id on the payer's card.", "W123456789"),
]

ReferenceNumber = Annotated[
    str,
    PlainValidator(
        _code(
            canonical=r"^[A-Za-z0-9][A-Za-z0-9-]{0,49}$",
            error_type="reference_number_format",
            message="reference number must be 1 to 50 letters, digits or '-'",
        )
    ),
    _schema(
        r"^[A-Za-z0-9][A-Za-z0-9-]{0,49}$",
        "X12 reference (group number, prior authorization, trace number, ...).",
        "GRP-0042",
    ),
]

PayerClaimControlNumber = Annotated[
    str,
    PlainValidator(
        _code(
            canonical=r"^[A-Za-z0-9][A-Za-z0-9-]{0,49}$",
            error_type="payer_claim_control_number_format",
            message="payer claim control number must be 1 to 50 letters, digits or '-'",
        )
    ),
    _schema(
        r"^[A-Za-z0-9][A-Za-z0-9-]{0,49}$",
        "The payer's own claim number (835 CLP07, 277CA REF*1K); REF*F8 on corrections and voids.",
        "2026061000123",
    ),
]

ClaimSubmissionId = Annotated[
    str,
    PlainValidator(
        _code(
            canonical=r"^[A-Za-z0-9][A-Za-z0-9-]{0,19}$",
            error_type="submission_id_format",
            message="submission id must be 1 to 20 letters, digits or '-'",
        )
    ),
    _schema(
        r"^[A-Za-z0-9][A-Za-z0-9-]{0,19}$",
        "Opaque claim-submission id sent as 837 CLM01 (<= 20 characters) and echoed by payers as "
        "835 CLP01 and 277CA TRN02. Every submission gets its own.",
        "S01JNQ9A4XK7",
        max_length=20,
    ),
]

LineControlNumber = Annotated[
    str,
    PlainValidator(
        _code(
            canonical=r"^[A-Za-z0-9][A-Za-z0-9-]{0,29}$",
            error_type="line_control_number_format",
            message="line control number must be 1 to 30 letters, digits or '-'",
        )
    ),
    _schema(
        r"^[A-Za-z0-9][A-Za-z0-9-]{0,29}$",
        "Line item control number (837 REF*6R, echoed in 835 REF*6R) matching remittance lines.",
        "L01JNQ9A4XK7-1",
    ),
]

InterchangeControlNumber = Annotated[
    str,
    PlainValidator(
        _code(
            canonical=r"^[0-9]{9}$",
            error_type="interchange_control_number_format",
            message="interchange control number must be 9 digits",
        )
    ),
    _schema(r"^[0-9]{9}$", "X12 ISA13 (= IEA02).", "000000417"),
]

GroupControlNumber = Annotated[
    str,
    PlainValidator(
        _code(
            canonical=r"^[0-9]{1,9}$",
            error_type="group_control_number_format",
            message="group control number must be 1 to 9 digits",
        )
    ),
    _schema(r"^[0-9]{1,9}$", "X12 GS06 (= GE02).", "417"),
]

TransactionSetControlNumber = Annotated[
    str,
    PlainValidator(
        _code(
            canonical=r"^[0-9]{4,9}$",
            error_type="transaction_set_control_number_format",
            message="transaction set control number must be 4 to 9 digits",
        )
    ),
    _schema(r"^[0-9]{4,9}$", "X12 ST02 (= SE02).", "0001"),
]

CarcCode = Annotated[
    str,
    PlainValidator(
        _code(
            canonical=r"^[A-Z0-9]{1,3}$",
            error_type="carc_format",
            message="CARC must be 1 to 3 uppercase letters or digits",
        )
    ),
    _schema(r"^[A-Z0-9]{1,3}$", "Claim adjustment reason code (X12 CARC).", "45", "97"),
]

RarcCode = Annotated[
    str,
    PlainValidator(
        _code(
            canonical=r"^[A-Z]{1,2}[0-9]{1,3}$",
            error_type="rarc_format",
            message="RARC must be 1 or 2 uppercase letters then 1 to 3 digits",
        )
    ),
    _schema(r"^[A-Z]{1,2}[0-9]{1,3}$", "Remittance advice remark code (X12 RARC).", "N130", "MA130"),
]

ChargemasterCode = Annotated[
    str,
    PlainValidator(
        _code(
            canonical=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,29}$",
            error_type="chargemaster_code_format",
            message="chargemaster code must be 1 to 30 letters, digits, '_', '.' or '-'",
        )
    ),
    _schema(
        r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,29}$",
        "Hospital chargemaster (CDM) item code, mapped to a procedure code by the charges service.",
        "CDM-300-1042",
    ),
]

EditId = Annotated[
    str,
    PlainValidator(
        _code(
            canonical=r"^[A-Z0-9][A-Z0-9_.-]{0,39}$",
            error_type="edit_id_format",
            message="edit id must be 1 to 40 uppercase letters, digits, '_', '.' or '-'",
        )
    ),
    _schema(r"^[A-Z0-9][A-Z0-9_.-]{0,39}$", "Scrubber edit identifier.", "NCCI-PTP"),
]

TemplateId = Annotated[
    str,
    PlainValidator(
        _code(
            canonical=r"^[a-z0-9][a-z0-9_.-]{0,63}$",
            error_type="template_id_format",
            message="template id must be 1 to 64 lowercase letters, digits, '_', '.' or '-'",
        )
    ),
    _schema(r"^[a-z0-9][a-z0-9_.-]{0,63}$", "Notification template identifier.", "patient-statement"),
]

EventTypeName = Annotated[
    str,
    PlainValidator(
        _code(
            canonical=r"^rcm\.[a-z-]+\.[A-Z][A-Za-z]+\.v[0-9]+$",
            error_type="event_type_format",
            message="event type must look like rcm.<domain>.<EventName>.v<N>",
        )
    ),
    _schema(r"^rcm\.[a-z-]+\.[A-Z][A-Za-z]+\.v[0-9]+$", "A Revcycle event type.", "rcm.intake.ChargeSubmitted.v1"),
]

Sha256Hex = Annotated[
    str,
    PlainValidator(
        _code(
            canonical=r"^[0-9a-f]{64}$",
            error_type="sha256_format",
            message="hash must be 64 lowercase hex digits",
        )
    ),
    _schema(
        r"^[0-9a-f]{64}$",
        "SHA-256 of a file, lowercase hex.",
        "9f2c4e1d7a3b5c8e0f6d2a4b1c3e5f7a9b0d2c4e6f8a1b3c5d7e9f0a2b4c6d8e",
    ),
]
