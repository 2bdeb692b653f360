from __future__ import annotations

import pytest

from services.charges.domain.codes import (
    ProcedureKind,
    is_chargemaster_code,
    is_icd10cm_shape,
    is_modifier_shape,
    is_place_of_service_shape,
    is_revenue_code,
    procedure_kind,
)


@pytest.mark.parametrize(
    ("code", "kind"),
    [
        ("99213", ProcedureKind.CPT),
        ("0001F", ProcedureKind.CPT),
        ("0042T", ProcedureKind.CPT),
        ("0001U", ProcedureKind.CPT),
        ("0002M", ProcedureKind.CPT),
        ("J1100", ProcedureKind.HCPCS),
        ("A0425", ProcedureKind.HCPCS),
        ("V5299", ProcedureKind.HCPCS),
        ("W1234", None),  # W-Z are not HCPCS Level II sections
        ("Z9999", None),
        ("9921", None),
        ("992134", None),
        ("0001X", None),
        ("j1100", None),  # facts are canonical: uppercase
        ("\uff19\uff19\uff12\uff11\uff13", None),  # full-width digits are not ASCII digits
        ("", None),
    ],
)
def test_procedure_kind(code: str, kind: ProcedureKind | None) -> None:
    assert procedure_kind(code) is kind


def test_small_shapes() -> None:
    assert is_modifier_shape("25") and is_modifier_shape("XS")
    assert not is_modifier_shape("x") and not is_modifier_shape("xs") and not is_modifier_shape("XSU")
    assert is_revenue_code("0510") and not is_revenue_code("510") and not is_revenue_code("05100")
    assert is_place_of_service_shape("02") and not is_place_of_service_shape("2")
    assert is_icd10cm_shape("J020") and is_icd10cm_shape("S0101XA") and is_icd10cm_shape("I10")
    assert not is_icd10cm_shape("J02.0") and not is_icd10cm_shape("A00-A09") and not is_icd10cm_shape("1")
    assert (
        is_chargemaster_code("CDM-300-1042") and not is_chargemaster_code("-CDM") and not is_chargemaster_code("a" * 31)
    )
