"""Structural checks of a 270 (and, with its own tables, a 271) from the 005010X279A1 segment
tables: pyx12 4.0 maps only the 4010 270/271, so these stand in for its structural validation.

A table gives each HL level's loops in order, each segment with its maximum use, whether it is
required and the codes its elements may take. The walk reports, each naming its loop and segment:
a required segment or loop that is missing, a segment repeated more than the table allows, a
segment out of place, a code outside its list, a date that is not one, an HL whose parent is
not the level above it or whose HL04 says the wrong thing about its children, and a patient
level without its TRN.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date

from edi.envelope import Interchange, TransactionSet, read_interchanges
from edi.errors import X12Error
from edi.issues import X12Issue, issue_from_error
from edi.segments import Segment, is_digits
from edi.x270.reader import LEVEL_LOOP, PARENT_LEVEL


@dataclass(frozen=True)
class Seg:
    tag: str
    max_use: int = 1
    required: bool = False
    codes: Mapping[int, frozenset[str]] = field(default_factory=dict)  # element -> allowed values


@dataclass(frozen=True)
class Loop:
    name: str
    body: tuple[Seg | Loop, ...]  # the first is the loop's trigger segment
    max_repeat: int = 1
    required: bool = False

    @property
    def trigger(self) -> str:
        first = self.body[0]
        return first.tag if isinstance(first, Seg) else first.trigger


def codes(*values: str) -> frozenset[str]:
    return frozenset(values)


DTP = Seg("DTP", codes={2: codes("D8", "RD8")})
DMG = Seg("DMG", codes={1: codes("D8"), 3: codes("F", "M", "U")})
INS = Seg("INS", codes={1: codes("Y", "N")})
NAME_IDS = codes("24", "34", "46", "FA", "FI", "II", "MI", "NI", "PI", "PP", "SV", "XV", "XX")
SOURCE_ENTITIES = codes("2B", "36", "GP", "P5", "PR")
RECEIVER_ENTITIES = codes("1P", "2B", "36", "80", "FA", "GP", "P5", "PR")


def name(entity: frozenset[str]) -> Seg:
    return Seg("NM1", required=True, codes={1: entity, 8: NAME_IDS})


@dataclass(frozen=True)
class Tables:
    """One transaction's tables: the loop of each HL level code and the TRN01 its patient levels use."""

    levels: Mapping[str, Loop]
    trace_qualifier: str
    benefit_trigger: str  # EQ (270) or EB (271): the loop each patient level needs one of


def _issue(seg: Segment, loop: str, message: str, element: str | None = None) -> X12Issue:
    return X12Issue(code="structure", message=f"loop {loop}: {message}", position=seg.position, segment_id=seg.tag,
                    element=element)


class _Walk:
    """Matches one HL level's segments against its loop table."""

    def __init__(self, segments: Sequence[Segment], trailer: Segment) -> None:
        self.segments = segments
        self.trailer = trailer
        self.i = 0
        self.issues: list[X12Issue] = []
        self.loop = ""

    def peek(self) -> Segment | None:
        return self.segments[self.i] if self.i < len(self.segments) else None

    def here(self) -> Segment:
        return self.peek() or self.trailer

    def loop_(self, loop: Loop) -> None:
        self.loop = loop.name
        for index, item in enumerate(loop.body):
            if isinstance(item, Seg):
                self.seg(item, loop.name, trigger=index == 0)
                continue
            n = 0
            while (seg := self.peek()) is not None and seg.tag == item.trigger:
                n += 1
                if n == item.max_repeat + 1:
                    self.issues.append(_issue(seg, item.name, f"loop {item.name} repeats more than "
                                                              f"{item.max_repeat} times"))
                self.loop_(item)
            if n == 0 and item.required:
                self.issues.append(_issue(self.here(), loop.name, f"required loop {item.name} ({item.trigger}) "
                                                                  "is missing"))

    def seg(self, spec: Seg, loop: str, *, trigger: bool = False) -> None:
        """The segments of ``spec`` here; a loop's trigger takes one (the next starts the next loop)."""
        n = 0
        while (seg := self.peek()) is not None and seg.tag == spec.tag and not (trigger and n):
            n += 1
            if n == spec.max_use + 1:
                self.issues.append(_issue(seg, loop, f"{spec.tag} is used more than {spec.max_use} times"))
            for i, allowed in spec.codes.items():
                if seg.el(i) and seg.el(i) not in allowed:
                    self.issues.append(_issue(seg, loop, f"{seg.name(i)} is not a code this loop allows",
                                              seg.name(i)))
            self.issues.extend(_dates(seg, loop))
            self.i += 1
            self.loop = loop  # the loop of the last segment matched: where a stray one is reported
        if n == 0 and spec.required:
            self.issues.append(_issue(self.here(), loop, f"required segment {spec.tag} is missing"))


def _valid_date(text: str) -> bool:
    if len(text) != 8 or not is_digits(text):
        return False
    try:
        date(int(text[:4]), int(text[4:6]), int(text[6:]))
    except ValueError:
        return False
    return True


def _dates(seg: Segment, loop: str) -> Iterator[X12Issue]:
    if seg.tag == "DTP":
        value = seg.el(3)
        parts = value.split("-") if seg.el(2) == "RD8" else [value]
        if not all(_valid_date(p) for p in parts) or (seg.el(2) == "RD8" and len(parts) != 2):
            shape = "CCYYMMDD-CCYYMMDD period" if seg.el(2) == "RD8" else "CCYYMMDD date"
            yield _issue(seg, loop, f"DTP03 is not a {shape}", "DTP03")
    elif seg.tag == "DMG" and seg.el(2) and not _valid_date(seg.el(2)):
        yield _issue(seg, loop, "DMG02 is not a CCYYMMDD date", "DMG02")


def check_set(ts: TransactionSet, tables: Tables, bht_purpose: str) -> Iterator[X12Issue]:
    """Every structural finding of one 270 or 271 transaction set."""
    body = ts.body
    trailer = ts.segments[-1]
    if not body or body[0].tag != "BHT":
        yield _issue(body[0] if body else trailer, "header", "BHT is required after ST")
        return
    bht = body[0]
    if bht.el(1) != "0022":
        yield _issue(bht, "header", "BHT01 must be 0022 (source, receiver, subscriber, dependent)", "BHT01")
    if bht.el(2) != bht_purpose:
        yield _issue(bht, "header", f"BHT02 must be {bht_purpose}", "BHT02")
    blocks: list[list[Segment]] = []
    for seg in body[1:]:
        if seg.tag == "HL":
            blocks.append([seg])
        elif blocks:
            blocks[-1].append(seg)
        else:
            yield _issue(seg, "header", "segment before the first HL (loop 2000A)")
    if not blocks:
        yield _issue(trailer, "2000A", "the information source level (HL 20) is missing")
        return
    levels: dict[str, str] = {}
    for n, block in enumerate(blocks):
        hl = block[0]
        yield from _hl(hl, n + 1, levels, blocks[n + 1][0] if n + 1 < len(blocks) else None)
        code = hl.el(3)
        loop = tables.levels.get(code)
        if loop is None:
            continue
        walk = _Walk(block, block[-1])
        walk.loop_(loop)
        yield from walk.issues
        if (stray := walk.peek()) is not None:
            yield _issue(stray, walk.loop, f"{stray.tag} is not allowed here (005010X279A1 segment order)")
        later = blocks[n + 1][0] if n + 1 < len(blocks) else None
        is_patient = code == "23" or (code == "22" and (later is None or later.el(3) != "23"))
        if is_patient:
            if not any(s.tag == "TRN" and s.el(1) == tables.trace_qualifier for s in block):
                yield _issue(hl, LEVEL_LOOP[code], f"the patient's level has no TRN*{tables.trace_qualifier} "
                                                   "trace number")
            rejected = any(s.tag == "AAA" and s.el(1) == "N" for s in block)
            if not rejected and not any(s.tag == tables.benefit_trigger for s in block):
                yield _issue(hl, LEVEL_LOOP[code], f"the patient's level has no {tables.benefit_trigger} "
                                                   f"(loop 2110{LEVEL_LOOP[code][-1]})")


def _hl(hl: Segment, expected_id: int, levels: dict[str, str], following: Segment | None) -> Iterator[X12Issue]:
    code = hl.el(3)
    loop = LEVEL_LOOP.get(code, "2000")
    if hl.el(1) != str(expected_id):
        yield _issue(hl, loop, f"HL01 must be {expected_id} (numbered from 1 in order)", "HL01")
    if code not in PARENT_LEVEL:
        yield _issue(hl, loop, "HL03 must be 20, 21, 22 or 23", "HL03")
        return
    parent = PARENT_LEVEL[code]
    if parent is None and hl.el(2):
        yield _issue(hl, loop, "HL02 must be empty at the information source level", "HL02")
    elif parent is not None and levels.get(hl.el(2)) != parent:
        yield _issue(hl, loop, f"HL02 must point to the level above ({parent})", "HL02")
    levels[hl.el(1)] = code
    has_child = following is not None and following.el(2) == hl.el(1)
    if hl.el(4) not in {"0", "1"} or (hl.el(4) == "1") != has_child:
        yield _issue(hl, loop, "HL04 must be 1 when a level follows under this one, else 0", "HL04")


SOURCE_270 = Loop("2000A", (Seg("HL", required=True), Loop("2100A", (name(SOURCE_ENTITIES),), required=True)))
RECEIVER_270 = Loop("2000B", (Seg("HL", required=True), Loop("2100B", (
    name(RECEIVER_ENTITIES), Seg("REF", 9), Seg("N3"), Seg("N4"), Seg("PRV")), required=True)))


def _patient_270(level: str, entity: str) -> Loop:
    letter = level[-1]
    return Loop(level, (
        Seg("HL", required=True), Seg("TRN", 2, codes={1: codes("1")}),
        Loop(f"2100{letter}", (name(codes(entity)), Seg("REF", 9), Seg("N3"), Seg("N4"), Seg("PRV"), DMG, INS,
                               Seg("HI"), Seg("DTP", 2, codes=DTP.codes)), required=True),
        Loop(f"2110{letter}", (Seg("EQ", required=True), Seg("AMT", 2), Seg("III"), Seg("REF"), DTP),
             max_repeat=99),
    ))


TABLES_270 = Tables(levels={"20": SOURCE_270, "21": RECEIVER_270, "22": _patient_270("2000C", "IL"),
                            "23": _patient_270("2000D", "03")}, trace_qualifier="1", benefit_trigger="EQ")


def check_270_set(ts: TransactionSet, interchange: Interchange) -> Iterator[X12Issue]:
    """``edi.validate`` runs this on every 270 (the interchange is not needed)."""
    return check_set(ts, TABLES_270, "13")


def check_text(text: str, set_id: str, tables: Tables, bht_purpose: str) -> list[X12Issue]:
    try:
        interchanges = read_interchanges(text)
    except X12Error as exc:
        return [issue_from_error(exc, "envelope")]
    return [issue for interchange in interchanges for ts in interchange.transactions() if ts.id == set_id
            for issue in check_set(ts, tables, bht_purpose)]


def check_270(text: str) -> list[X12Issue]:
    """Structural findings of every 270 in ``text``; [] when it follows the 005010X279A1 tables."""
    return check_text(text, "270", TABLES_270, "13")
