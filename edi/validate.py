"""Validation: pyx12 structural validation plus our own per-transaction checks.

``pyx12_validate`` runs pyx12's implementation-guide validation through its Python API and
turns its error tree into ``X12Issue`` values. ``validate`` adds our checks, listed per
transaction set id in ``CHECKS``: the 837P and 837I checks (``edi.x837.checks``,
``edi.x837i.checks``), the 835 balancing checks (``edi.x835.balancing``) and the 270/271
structural checks from the 005010X279A1 segment tables (``edi.x270.checks``, ``edi.x271.checks``),
which stand in for pyx12's: pyx12 4.0 maps only the 4010 270/271.
"""

from __future__ import annotations

import io
import json
import logging
import re
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from edi.envelope import Interchange, TransactionSet, read_interchanges
from edi.errors import X12EnvelopeError, X12Error
from edi.issues import X12Issue, issue_from_error
from edi.segments import is_digits
from edi.x270.checks import check_270_set
from edi.x271.checks import check_271_set
from edi.x835.balancing import BalanceCheck, balancing_issues
from edi.x837.checks import check_837p
from edi.x837i.checks import check_837i
from edi.x837i.model import IMPLEMENTATION_837I

# --- our own checks ---------------------------------------------------------------------------

Finding = X12Issue | X12Error | BalanceCheck
"""What a check yields: an issue, the error that stopped it reading the set, or a failed 835
balancing check (which carries the same code, message, position and element as an issue)."""

TransactionCheck = Callable[[TransactionSet, Interchange], Iterable[Finding]]


def _check_837(ts: TransactionSet, interchange: Interchange) -> Iterable[Finding]:
    """The 837I's checks on an 837I (ST03 005010X223A2), the 837P's on any other 837."""
    check = check_837i if ts.implementation == IMPLEMENTATION_837I else check_837p
    return check(ts, interchange)


CHECKS: dict[str, tuple[TransactionCheck, ...]] = {
    "837": (_check_837,),
    "835": (balancing_issues,),
    "270": (check_270_set,),  # pyx12 4.0 has only 4010 maps for the 270/271: these are the structural checks
    "271": (check_271_set,),
}
"""Our checks per transaction set id (ST01), run in order on every transaction set with that id."""


def _coerce(found: Finding) -> X12Issue:
    if isinstance(found, X12Issue):
        return found
    if isinstance(found, X12Error):
        return issue_from_error(found, "check")
    return X12Issue(
        code=found.code,
        message=found.message,
        position=found.position,
        segment_id=found.segment_id,
        element=found.element,
        severity="warning" if found.severity == "warning" else "error",
    )


def own_checks(interchange: Interchange) -> list[X12Issue]:
    issues: list[X12Issue] = []
    for ts in interchange.transactions():
        for check in CHECKS.get(ts.id, ()):
            issues.extend(_coerce(found) for found in check(ts, interchange))
    return issues


# --- pyx12 ------------------------------------------------------------------------------------


def _pyx12_params() -> Any:
    import pyx12.params

    params = pyx12.params.ParamsBase()
    return params


def _walk_pyx12(doc: dict[str, Any]) -> Iterator[X12Issue]:
    """Flatten pyx12's ISA/GS/ST/segment/element error tree.

    pyx12 numbers segments by line (``cur_line``, 1-based from ISA), the same as our positions.
    ``err_val`` (the offending value) is dropped on purpose: it may be PHI.
    """
    for isa in doc.get("interchanges", []):
        for err in isa.get("errors", []):
            yield _pyx12_issue(err, isa.get("cur_line"), "ISA")
        for gs in isa.get("groups", []):
            for err in gs.get("errors", []):
                yield _pyx12_issue(err, gs.get("cur_line"), "GS")
            for st in gs.get("transactions", []):
                for err in st.get("errors", []):
                    yield _pyx12_issue(err, st.get("cur_line"), "ST")
                for seg in st.get("segments", []):
                    for err in seg.get("errors", []):
                        yield _pyx12_issue(err, seg.get("cur_line"), seg.get("seg_id"))
                    for ele in seg.get("elements", []):
                        element = None
                        if seg.get("seg_id") and ele.get("ele_pos"):
                            element = f"{seg['seg_id']}{int(ele['ele_pos']):02d}"
                            if ele.get("subele_pos"):
                                element += f"-{int(ele['subele_pos'])}"
                        for err in ele.get("errors", []):
                            yield _pyx12_issue(err, seg.get("cur_line"), seg.get("seg_id"), element)


_REFDES = re.compile(r"[A-Z][A-Z0-9]{1,2}\d{2}(-\d+)?|min_len|max_len")


def _redact(message: str) -> str:
    """Strip element values from pyx12 messages, which quote offending data (possibly PHI)."""
    message = re.sub(r'len\("[^"]*"\)', "len(value)", message)
    message = re.sub(r"with a value of \(.*?\) failed", "failed", message)
    message = re.sub(r"\bSegment ([A-Z][A-Z0-9]{1,2})\W\S*( .*?)? not found", r"Segment \1 not found", message)
    message = re.sub(r"\(([^()]*)\)", lambda m: m.group(0) if _REFDES.fullmatch(m.group(1)) else "(value)", message)
    return " ".join(message.split())


def _pyx12_issue(err: dict[str, Any], line: Any, segment_id: str | None, element: str | None = None) -> X12Issue:
    position = int(line) if isinstance(line, int) or (isinstance(line, str) and is_digits(line)) else None
    message = _redact(str(err.get("err_str", ""))) or "pyx12 reported an error"
    if element:
        message = f"{element}: {message}"
    return X12Issue(
        code=f"pyx12:{err.get('err_cde', '')}",
        message=message,
        position=position,
        segment_id=segment_id,
        element=element,
        source="pyx12",
    )


class _CaptureLog(logging.Handler):
    """pyx12 reports some problems (GS element errors, unreadable files) only through logging."""

    def __init__(self) -> None:
        super().__init__(level=logging.ERROR)
        self.issues: list[X12Issue] = []

    def emit(self, record: logging.LogRecord) -> None:
        text = record.getMessage()
        match = re.match(r"Line:(\d+)\s+(?:SEG:\S+\s+)?(?:ELE:\S+\s+)?-\s*(.*)", text, re.S)
        position = int(match.group(1)) if match else None
        message = _redact(match.group(2) if match else text)
        # The log line ends with the offending value in parentheses; _redact turned it into "(value)".
        message = re.sub(r"\s*\(value\)$", "", message)
        self.issues.append(
            X12Issue(code="pyx12:log", message=message or "pyx12 reported an error", position=position, source="pyx12")
        )


def pyx12_validate(text: str) -> list[X12Issue]:
    """Validate ``text`` against the implementation guide with pyx12; [] when clean.

    The verdict combines pyx12's return value and its error tree, so a file pyx12 rejects
    without itemized errors still yields one issue.
    """
    import pyx12.x12n_document

    logger = logging.getLogger("pyx12")
    capture = _CaptureLog()
    old_level, old_propagate = logger.level, logger.propagate
    logger.addHandler(capture)
    logger.setLevel(logging.ERROR)
    logger.propagate = False  # pyx12 logs PHI-bearing values; keep them out of the app's logs
    fd_json = io.StringIO()
    try:
        ok = pyx12.x12n_document.x12n_document(
            param=_pyx12_params(), src_file=io.StringIO(text), fd_997=None, fd_html=None, fd_json=fd_json
        )
    except Exception as exc:  # pyx12 raises assorted internal errors on badly broken input
        return [
            X12Issue(
                code="pyx12:exception",
                message=f"pyx12 could not process the file ({type(exc).__name__})",
                source="pyx12",
            )
        ]
    finally:
        logger.removeHandler(capture)
        logger.setLevel(old_level)
        logger.propagate = old_propagate
    raw = fd_json.getvalue()
    issues = list(_walk_pyx12(json.loads(raw))) if raw else []
    if not ok and not issues:
        issues.extend(capture.issues)
    if not ok and not issues:
        issues.append(
            X12Issue(code="pyx12:rejected", message="pyx12 rejected the file without details", source="pyx12")
        )
    return issues


def _unreadable(text: str) -> X12Issue | None:
    """The one issue of a text whose segments or envelope structure cannot be followed, else None."""
    try:
        read_interchanges(text)
    except X12EnvelopeError as exc:
        return issue_from_error(exc, "envelope")
    except X12Error as exc:
        return issue_from_error(exc, "syntax")
    return None


def validate(text: str) -> list[X12Issue]:
    """Our own findings over every interchange of ``text``: envelope counts and control numbers,
    then the checks in ``CHECKS`` (NPI, CLM02 totals, REF*F8, 835 balancing). None stops the
    others; only a text whose structure cannot be followed gives its one issue and nothing else.
    """
    unreadable = _unreadable(text)
    if unreadable is not None:
        return [unreadable]
    return [issue for interchange in read_interchanges(text)
            for issue in (*interchange.findings, *own_checks(interchange))]


def validate_all(text: str) -> list[X12Issue]:
    """pyx12 structural validation followed by ours, sorted by position."""
    unreadable = _unreadable(text)
    if unreadable is not None:
        # pyx12 on unsplittable text only repeats the problem, less precisely.
        return [unreadable]
    combined = pyx12_validate(text) + validate(text)
    return sorted(combined, key=lambda i: i.position if i.position is not None else 0)
