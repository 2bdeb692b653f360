"""docs/claims.md's annotated 837I is what the claims service writes today, segment for segment:
the two-night stay below, assembled (domain/assembly.py) and written (domain/x837i.py) by the
service's own code. A change to either that moves a byte of the 837I fails here until the doc
shows the new file."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

from edi.validate import pyx12_validate, validate
from schemas import examples as ex
from schemas.common import EncounterDetails
from services.claims.domain.assembly import assemble
from services.claims.domain.scrubber import ScrubInput, scrub
from services.claims.domain.x837i import build_claim, render_batch
from services.claims.domain.x837parts import Submission
from tests.unit.claims.factory import FEES, facility

DOC = Path(__file__).resolve().parents[3] / "docs" / "claims.md"
START = "<!-- 837I written by tests/unit/claims/test_claims_doc_837i.py -->"
NOW = datetime(2026, 3, 10, 9, 30, tzinfo=UTC)
ADMIT, DAY2, DISCHARGE = date(2026, 3, 2), date(2026, 3, 3), date(2026, 3, 4)


def two_night_stay() -> EncounterDetails:
    """The inpatient example (schemas/examples.py), admitted on March 2 at 14:00 through the ER and
    discharged home on March 4 at 11:00: two nights, two covered days."""
    values = json.loads(json.dumps(ex.INPATIENT_ENCOUNTER))
    values["discharge_date"] = DISCHARGE.isoformat()
    values["institutional"].update(statement_through=DISCHARGE.isoformat(), value_codes=[{"code": "80",
                                                                                          "amount": "2.00"}])
    return EncounterDetails.model_validate_json(json.dumps(values))


CHARGES = [
    facility(1, "0450", "1250.00", "99284", service_date=ADMIT),  # the ER visit that admitted her
    facility(2, "0120", "1850.00", service_date=ADMIT),  # semi-private room, night 1
    facility(3, "0300", "48.00", "80053", service_date=ADMIT),
    facility(4, "0120", "1850.00", service_date=DAY2),  # night 2
    facility(5, "0300", "28.00", "85025", service_date=DAY2),
    facility(6, "0250", "12.50", service_date=DAY2, units=Decimal(5)),
]


def written() -> str:
    [draft] = assemble(two_night_stay(), ex.INPATIENT_ENCOUNTER_ID, ex.PATIENT_ACCOUNT_ID, CHARGES, FEES)
    assert draft.claim_type == "institutional" and scrub(ScrubInput(draft=draft, today=NOW.date(),
                                                                    timely_filing_days=90)) == []
    return render_batch([build_claim(draft, Submission("S01JNR9C2PX7Q4W5E8T1", "1", "60054", "Aetna"))], 42, NOW)


def documented() -> list[str]:
    """The segments of the doc's annotated 837I: each line's text up to its `~`; a line that
    begins with a space continues the annotation above it."""
    doc = DOC.read_text()
    assert START in doc, f"docs/claims.md lost the line {START!r} that opens its annotated 837I"
    block = doc.split(START, 1)[1].split("```", 2)[1]
    lines = block.splitlines()[1:]  # the fence's own line
    return [line.split("~", 1)[0] + "~" for line in lines if line and not line.startswith(" ")]


def test_the_annotated_837i_in_claims_md_is_the_837i_claims_writes() -> None:
    text = written()
    assert pyx12_validate(text) == [] and validate(text) == []
    assert documented() == [segment + "~" for segment in text.split("~") if segment]
