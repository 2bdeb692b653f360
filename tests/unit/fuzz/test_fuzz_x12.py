"""Fuzzing the X12 readers (issue 16): mutated 835, 999, 277CA and TA1 files are read into data
and findings, or refused with the one documented error type, X12Error, whose message says
where (segment position and id); never another exception, never a message with a value."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from edi import ta1, x277ca, x835, x999
from edi.errors import X12Error
from services.remits.service.remittances import Quarantine, postable
from tests.unit.fuzz.x12_mutations import files

CASES = 1500
_FUZZ = settings(max_examples=CASES, deadline=None, suppress_health_check=list(HealthCheck), database=None)

READERS: dict[str, tuple[Callable[[str], Any], tuple[str, ...]]] = {
    "835": (x835.read_835, ("lfh-835-managed-care.835", "lfh-835-medicare-part-a.835",
                            "lfh-835-secondary-payment.835", "lfh-835-cob-contractual-adjustment.835")),
    "999": (x999.read_999_all, ("ims-999-rejected.999", "ims-999-accepted-ta1.999", "pyx12-834-lui-id-5010.999")),
    "277CA": (x277ca.read_277ca, ("ims-277ca-rejected.277", "ims-277ca-accepted.277")),
    "TA1": (ta1.read_ta1, ("ims-999-accepted-ta1.999",)),
}


def read_or_refuse(reader: Callable[[str], Any], text: str) -> None:
    try:
        reader(text)
    except X12Error as exc:
        message = str(exc)
        assert message and "\n" not in message
        assert exc.position is not None or exc.segment_id is not None, f"unlocated error: {message}"


def _fuzzer(kind: str) -> Callable[[], None]:
    reader, names = READERS[kind]

    @_FUZZ
    @given(text=files(*names))
    def fuzz(text: str) -> None:
        read_or_refuse(reader, text)

    return fuzz


test_fuzz_835 = _fuzzer("835")
test_fuzz_999 = _fuzzer("999")
test_fuzz_277ca = _fuzzer("277CA")
test_fuzz_ta1 = _fuzzer("TA1")


# --------------------------------------------------------------------------- remits' 835 intake gate

FILES_835 = READERS["835"][1]
FILE_BYTES = st.one_of(
    files(*FILES_835).map(lambda text: text.encode("utf-8")),
    files(*FILES_835).map(lambda text: text.encode("utf-16")),  # a partner's export in the wrong charset
    st.binary(max_size=300),
)
_REASONS = ("parse: segment ", "envelope: ", "balancing: ST ", "the file is not UTF-8 text")


@_FUZZ
@given(raw=FILE_BYTES)
def test_fuzz_remits_835_gate(raw: bytes) -> None:
    """What remits checks before writing anything: a file is postable (every transaction with
    its payer) or quarantined with a reason that says where, never an unexpected exception."""
    try:
        found = postable(raw)
    except Quarantine as exc:
        reason = str(exc)
        assert reason.startswith(_REASONS) or " payer identification " in reason, reason
        return
    assert all(payer.payer_id for _, payer in found)
