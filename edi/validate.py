"""Validation: pyx12 structural validation plus our own per-transaction checks.

``pyx12_validate`` runs pyx12's implementation-guide validation through its Python API and
turns its error tree into ``X12Issue`` values. ``validate`` adds our checks, listed per
transaction set id in ``CHECKS``: the 837P and 837I checks (``edi.x837.checks``,
``edi.x837i.checks``), the 835 balancing checks (``edi.x835.balancing``) and the 276 and 277
claim status checks (``edi.x276.checks``, the 276's whole validation since pyx12 has no 5010
map for it; ``edi.x277.checks``). pyx12 validates the 277 claim status response with its X212
map, fixed here (``_write_fixed_x212_map``).
"""

from __future__ import annotations

import atexit
import functools
import io
import json
import logging
import re
import shutil
import tempfile
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

from edi.envelope import Interchange, TransactionSet, read_interchanges
from edi.errors import X12EnvelopeError, X12Error
from edi.issues import X12Issue, issue_from_error
from edi.segments import is_digits
from edi.x276.checks import check_276
from edi.x277.checks import check_277
from edi.x277.model import IMPLEMENTATION as X212
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


def _check_277(ts: TransactionSet, interchange: Interchange) -> Iterable[Finding]:
    """The claim status response's checks on a 277 (005010X212); a 277CA (X214) has none."""
    return check_277(ts, interchange) if ts.implementation == X212 else ()


CHECKS: dict[str, tuple[TransactionCheck, ...]] = {
    "837": (_check_837,),
    "835": (balancing_issues,),
    "276": (check_276,),
    "277": (_check_277,),
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


_X212_MAP = "277.5010.X212.xml"


def _child(parent: ElementTree.Element, tag: str, xid: str) -> ElementTree.Element:
    found = parent.find(f"{tag}[@xid='{xid}']")
    if found is None:
        raise RuntimeError(f"pyx12's {_X212_MAP} has no {tag} {xid}: its layout changed, review _write_fixed_x212_map")
    return found


def _child_text(parent: ElementTree.Element, tag: str) -> ElementTree.Element:
    found = parent.find(tag)
    if found is None:
        raise RuntimeError(f"pyx12's {_X212_MAP} has a {parent.tag} without {tag}: review _write_fixed_x212_map")
    return found


def _write_fixed_x212_map(source: Path, target: Path) -> None:
    """pyx12 4.0 ships the 277 claim status map (005010X212) with two faults that stop every 277
    from walking: the GS01/GS08 codes of the 820 (RA, 005010X218), and the 2000C, 2000D and
    2000E levels in flat wrapper loops beside 2000A (and SE in a wrapper beside the ST loop).
    The segments and elements themselves are the guide's. Fixed here the way pyx12's own 277CA
    map (X214) is laid out: levels nested 2000A > 2000B > 2000C > 2000D > 2000E."""
    tree = ElementTree.parse(source)  # noqa: S314 - pyx12's own map file, not input
    group = _child(_child(tree.getroot(), "loop", "ISA_LOOP"), "loop", "GS_LOOP")
    for element in _child(group, "segment", "GS").iter("element"):
        code = element.find("valid_codes/code")
        if code is not None and element.get("xid") in {"GS01", "GS08"}:
            code.text = "HN" if element.get("xid") == "GS01" else X212
    st = _child(group, "loop", "ST_LOOP")
    detail = _child(st, "loop", "DETAIL")
    parent = _child(_child(detail, "loop", "2000A"), "loop", "2000B")
    levels = [parent]
    for area, level in (("TABLE2AREA4", "2000C"), ("TABLE2AREA5", "2000D"), ("TABLE2AREA6", "2000E")):
        wrapper = _child(detail, "loop", area)
        detail.remove(wrapper)
        parent.append(loop := _child(wrapper, "loop", level))
        levels.append(parent := loop)
    trailer_area = _child(group, "loop", "TABLE2AREA3")
    se = _child(trailer_area, "segment", "SE")
    group.remove(trailer_area)
    st.append(se)
    # pyx12 walks by position: a nested level follows its parent's segments (2000 in the X214 map)
    positions = [(_child(st, "segment", "ST"), "0050"), (_child(st, "loop", "HEADER"), "0100"), (detail, "0200"),
                 (se, "5550"), *((loop, "2000") for loop in levels)]
    for node, pos in positions:
        _child_text(node, "pos").text = pos
    tree.write(target, encoding="utf-8", xml_declaration=True)


@functools.cache
def _pyx12_map_path() -> str:
    """A map folder with pyx12's maps plus the fixed 277 claim status map, listed in its
    maps.xml (pyx12 4.0 does not list the X212 map at all). Built once per process."""
    import pyx12

    package = Path(pyx12.__file__).parent / "map"
    folder = Path(tempfile.mkdtemp(prefix="rcm-pyx12-maps-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    for source in package.iterdir():
        if source.name not in {"maps.xml", _X212_MAP}:
            (folder / source.name).symlink_to(source)
    _write_fixed_x212_map(package / _X212_MAP, folder / _X212_MAP)
    index = ElementTree.parse(package / "maps.xml")  # noqa: S314 - pyx12's own index
    version = index.getroot().find("version[@icvn='00501']")
    assert version is not None
    entry = ElementTree.SubElement(version, "map", {"vriic": X212, "fic": "HN", "abbr": "277"})
    entry.text = _X212_MAP
    index.write(folder / "maps.xml", encoding="utf-8", xml_declaration=True)
    return str(folder)


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


_NO_PYX12_MAP = {"HR": "276"}
"""GS01 of the transactions pyx12 4.0 has only 4010 maps for."""


def _unmapped_transaction(text: str) -> str | None:
    try:
        groups = [group for interchange in read_interchanges(text) for group in interchange.groups]
    except X12Error:
        return None  # pyx12 reports what it makes of it
    kinds = {_NO_PYX12_MAP.get(group.functional_id) for group in groups}
    return kinds.pop() if groups and len(kinds) == 1 and None not in kinds else None


def pyx12_validate(text: str) -> list[X12Issue]:
    """Validate ``text`` against the implementation guide with pyx12; [] when clean.

    The verdict combines pyx12's return value and its error tree, so a file pyx12 rejects
    without itemized errors still yields one issue.
    """
    import pyx12.x12n_document

    if (unmapped := _unmapped_transaction(text)) is not None:
        return [X12Issue(code="pyx12:no_map", severity="warning", source="pyx12",
                         message=f"pyx12 has no 5010 map for the {unmapped}: checked by our structural checks only")]
    logger = logging.getLogger("pyx12")
    capture = _CaptureLog()
    old_level, old_propagate = logger.level, logger.propagate
    logger.addHandler(capture)
    logger.setLevel(logging.ERROR)
    logger.propagate = False  # pyx12 logs PHI-bearing values; keep them out of the app's logs
    fd_json = io.StringIO()
    try:
        # Only a file that may hold a 277 claim status response needs the extra map; the folder
        # holds every other map too, so a false match costs nothing but the folder.
        map_path = _pyx12_map_path() if X212 in text else None
        ok = pyx12.x12n_document.x12n_document(
            param=_pyx12_params(), src_file=io.StringIO(text), fd_997=None, fd_html=None, fd_json=fd_json,
            map_path=map_path,
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
