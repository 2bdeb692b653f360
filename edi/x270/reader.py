"""The X12 270 reader: ``read_270`` turns a file into ``Inquiry`` values (005010X279A1 only).
The HL tree walk and the person loops are shared with the 271 reader."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date

from edi.envelope import Interchange, read_interchanges, transaction_sets
from edi.x12 import Segment, TransactionSet
from edi.x12values import element_error, expect_code, parse_period, required, required_date, segment_error
from edi.x270.model import FUNCTIONAL_ID, IMPLEMENTATION, Gender, Inquiry, Person

PARENT_LEVEL = {"20": None, "21": "20", "22": "21", "23": "22"}
"""HL03 level code -> the level of its parent (HL02)."""

LEVEL_LOOP = {"20": "2000A", "21": "2000B", "22": "2000C", "23": "2000D"}
NAME_LOOP = {"20": "2100A", "21": "2100B", "22": "2100C", "23": "2100D"}


@dataclass
class Level:
    """One HL and the segments up to the next HL."""

    hl: Segment
    segments: list[Segment] = field(default_factory=list)

    @property
    def code(self) -> str:
        return self.hl.el(3)

    def first(self, tag: str, qualifier: str | None = None) -> Segment | None:
        return next((s for s in self.segments if s.tag == tag and (qualifier is None or s.el(1) == qualifier)), None)

    def all(self, tag: str) -> list[Segment]:
        return [s for s in self.segments if s.tag == tag]

    def name(self) -> Segment:
        nm1 = self.first("NM1")
        if nm1 is None:
            raise segment_error(self.hl, f"loop {NAME_LOOP[self.code]} has no NM1")
        return nm1

    def before(self, tag: str) -> list[Segment]:
        """The segments before the first ``tag`` (the level's own loops before its benefit loops)."""
        out: list[Segment] = []
        for s in self.segments:
            if s.tag == tag:
                break
            out.append(s)
        return out


def levels(ts: TransactionSet, bht_purpose: str) -> tuple[Segment, list[Level]]:
    """BHT and the HL levels of a 270/271, each HL's parent checked to exist and be of the
    level the guide puts above it."""
    body = ts.body
    if not body or body[0].tag != "BHT":
        raise segment_error(body[0] if body else ts.segments[-1], "BHT is required after ST")
    bht = body[0]
    expect_code(bht, 1, ("0022",))
    expect_code(bht, 2, (bht_purpose,))
    found: list[Level] = []
    by_id: dict[str, str] = {}
    for seg in body[1:]:
        if seg.tag == "HL":
            code, parent = seg.el(3), seg.el(2)
            if code not in PARENT_LEVEL:
                raise element_error(seg, 3, "must be 20, 21, 22 or 23")
            hl_id = required(seg, 1)
            if hl_id in by_id:
                raise element_error(seg, 1, "repeats an earlier HL01")
            wanted = PARENT_LEVEL[code]
            if (wanted is None and parent) or (wanted is not None and by_id.get(parent) != wanted):
                raise element_error(seg, 2, f"must point to the enclosing level {wanted}" if wanted
                                    else "must be empty at the information source level")
            by_id[hl_id] = code
            found.append(Level(seg))
        elif not found:
            raise segment_error(seg, "found before the first HL (information source level 2000A)")
        else:
            found[-1].segments.append(seg)
    if not found:
        raise segment_error(ts.segments[-1], "transaction set has no HL 20 information source level")
    return bht, found


@dataclass
class Branch:
    """The source, receiver and subscriber levels above a patient."""

    source: Level
    receiver: Level
    subscriber: Level
    dependent: Level | None = None

    @property
    def patient(self) -> Level:
        return self.dependent or self.subscriber


def branches(found: Sequence[Level]) -> Iterator[Branch]:
    """Each patient of the tree (a subscriber without dependents, or a dependent), with the
    levels above it."""
    source = receiver = subscriber = None
    for n, level in enumerate(found):
        later = found[n + 1].code if n + 1 < len(found) else None
        if level.code == "20":
            source = level
        elif level.code == "21":
            receiver = level
        elif level.code == "22":
            subscriber = level
            if later != "23":
                assert source is not None and receiver is not None
                yield Branch(source, receiver, level)
        else:
            assert source is not None and receiver is not None and subscriber is not None
            yield Branch(source, receiver, subscriber, level)


def trace_number(level: Level, qualifier: str) -> str:
    trn = level.first("TRN", qualifier)
    if trn is None:
        raise segment_error(level.hl, f"the patient level {LEVEL_LOOP[level.code]} has no TRN*{qualifier}")
    return required(trn, 2)


def entity_name(level: Level, entity: str) -> tuple[str, str]:
    """NM103 and NM109 of the payer (PR) or provider (1P) level."""
    nm1 = level.name()
    expect_code(nm1, 1, (entity,))
    return required(nm1, 3), required(nm1, 9)


def person(level: Level) -> Person:
    """NM1 (MI id), REF*6P, DMG and INS of a 2100C/2100D loop."""
    nm1 = level.name()
    expect_code(nm1, 1, ("IL",) if level.code == "22" else ("03",))
    own = level.before("EB" if level.first("EB") else "EQ")
    ref = next((s for s in own if s.tag == "REF" and s.el(1) == "6P"), None)
    dmg = next((s for s in own if s.tag == "DMG"), None)
    ins = next((s for s in own if s.tag == "INS"), None)
    birth: date | None = None
    gender: Gender | None = None
    if dmg is not None:
        expect_code(dmg, 1, ("D8",))
        birth = required_date(dmg, 2)
        if dmg.el(3):
            code = expect_code(dmg, 3, ("M", "F", "U"))
            gender = "M" if code == "M" else "F" if code == "F" else "U"
    member_id = ""
    if nm1.el(9):
        expect_code(nm1, 8, ("MI", "II"))
        member_id = nm1.el(9)
    return Person(last_name=nm1.el(3), first_name=nm1.el(4), member_id=member_id, birth_date=birth, gender=gender,
                  group_number=required(ref, 2) if ref else None,
                  relationship=required(ins, 2) if ins is not None and level.code == "23" else None)


def read_270(text: str) -> list[Inquiry]:
    """Every inquiry of every 270 in ``text``, in file order."""
    return [inquiry for interchange in read_interchanges(text) for inquiry in read_270_interchange(interchange)]


def read_transaction_set(ts: TransactionSet) -> list[Inquiry]:
    _, found = levels(ts, "13")
    out: list[Inquiry] = []
    for branch in branches(found):
        patient = branch.patient
        dtp = patient.first("DTP", "291") or branch.subscriber.first("DTP", "291")
        if dtp is None:
            raise segment_error(patient.hl, f"loop {NAME_LOOP[patient.code]} has no DTP*291 service date")
        start, end = parse_period(dtp, 2, 3)
        service_types = tuple(code for eq in patient.all("EQ") for code in eq.reps(1))
        if not service_types:
            raise segment_error(patient.hl, f"the patient level {LEVEL_LOOP[patient.code]} has no EQ (loop 2110)")
        payer_name, payer_id = entity_name(branch.source, "PR")
        provider_name, npi = entity_name(branch.receiver, "1P")
        out.append(Inquiry(trace_number=trace_number(patient, "1"), payer_name=payer_name, payer_id=payer_id,
                           provider_name=provider_name, provider_npi=npi, subscriber=person(branch.subscriber),
                           dependent=person(branch.dependent) if branch.dependent else None, service_date=start,
                           service_end_date=end if end != start else None, service_types=service_types))
    return out


def read_270_interchange(interchange: Interchange) -> list[Inquiry]:
    """The inquiries of an interchange already read (every set must be a 005010X279A1 270)."""
    sets = transaction_sets([interchange], FUNCTIONAL_ID, "270", "a 270 (GS01 HS, ST01 270, 005010X279A1)",
                            IMPLEMENTATION)
    return [inquiry for ts in sets for inquiry in read_transaction_set(ts)]
