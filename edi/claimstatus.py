"""What the 276 request and the 277 response (005010X212) share: the party hierarchy.

Both nest claims the same way: HL 20 payer (NM1*PR) -> 21 information receiver (NM1*41) ->
19 provider (NM1*1P) -> 22 subscriber (NM1*IL) -> 23 dependent (NM1*QC), with one claim status
tracking loop (2200D under the subscriber, 2200E under the dependent) per claim. The models stay
flat (each claim names its parties); ``hierarchy_specs`` groups consecutive claims with the same
parties under shared HL levels and ``read_transaction`` flattens them back, in document order.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import date
from typing import Any, Literal, Protocol, TypeVar, cast

from edi.issues import X12Issue
from edi.x12 import Segment, SegmentSpec, TransactionSet, X12Error, X12SyntaxError
from edi.x12values import (
    Cursor,
    element_error,
    expect_code,
    expect_hl,
    json_date,
    required,
    required_date,
    segment_error,
)

Gender = Literal["M", "F", "U"]
GENDERS: tuple[Gender, ...] = ("M", "F", "U")


@dataclass(frozen=True, kw_only=True)
class Person:
    """A subscriber (NM1*IL, member id in NM109) or a dependent (NM1*QC, no id in 5010)."""

    last_name: str
    first_name: str = ""
    member_id: str = ""
    birth_date: date | None = None  # DMG02 (276 only: the 277 carries no DMG)
    gender: Gender | None = None  # DMG03

    def without_demographics(self) -> Person:
        """The person as a 277 names them."""
        return replace(self, birth_date=None, gender=None)


@dataclass(frozen=True, kw_only=True)
class Parties:
    """Who a claim status loop is about, read from the levels above it."""

    payer_name: str
    payer_id: str
    receiver_name: str
    receiver_id: str
    provider_name: str
    provider_npi: str
    subscriber: Person
    dependent: Person | None


class HasParties(Protocol):
    @property
    def payer_name(self) -> str: ...
    @property
    def payer_id(self) -> str: ...
    @property
    def receiver_name(self) -> str: ...
    @property
    def receiver_id(self) -> str: ...
    @property
    def provider_name(self) -> str: ...
    @property
    def provider_npi(self) -> str: ...
    @property
    def subscriber(self) -> Person: ...
    @property
    def dependent(self) -> Person | None: ...


T = TypeVar("T", bound=HasParties)
R = TypeVar("R")


def _runs(items: Sequence[T], key: Callable[[T], object]) -> Iterator[list[T]]:
    run: list[T] = []
    for item in items:
        if run and key(run[-1]) != key(item):
            yield run
            run = []
        run.append(item)
    if run:
        yield run


def _subscriber_runs(items: Sequence[T]) -> Iterator[list[T]]:
    """Runs of one subscriber; a subscriber's own claim after a dependent's starts a new HL 22,
    because the 2200D loops come before the 2000E levels."""
    run: list[T] = []
    for item in items:
        if run and (run[-1].subscriber != item.subscriber
                    or (item.dependent is None and any(i.dependent is not None for i in run))):
            yield run
            run = []
        run.append(item)
    if run:
        yield run


def hierarchy_specs(
    items: Sequence[T], *, receiver_name: Callable[[T], str], receiver_id: Callable[[T], str],
    person: Callable[[Person, str], list[SegmentSpec]], claim: Callable[[T], list[SegmentSpec]],
    text: Callable[[str], str],
) -> list[SegmentSpec]:
    """The HL levels and claim loops of ``items`` (numbered depth first from 1). ``person``
    renders a subscriber ("IL") or dependent ("QC") level after its HL, ``claim`` one claim loop."""
    out: list[SegmentSpec] = []
    hl = 0

    def level(parent: str, code: str, children: bool | None) -> str:
        nonlocal hl
        hl += 1
        out.append(["HL", str(hl), parent, code] + ([] if children is None else ["1" if children else "0"]))
        return str(hl)

    for payer in _runs(items, lambda i: (i.payer_name, i.payer_id)):
        payer_hl = level("", "20", True)
        first = payer[0]
        out.append(["NM1", "PR", "2", text(first.payer_name), "", "", "", "", "PI", first.payer_id])
        for receiver in _runs(payer, lambda i: (receiver_name(i), receiver_id(i))):
            receiver_hl = level(payer_hl, "21", True)
            out.append(["NM1", "41", "2", text(receiver_name(receiver[0])), "", "", "", "", "46",
                        receiver_id(receiver[0])])
            for provider in _runs(receiver, lambda i: (i.provider_name, i.provider_npi)):
                provider_hl = level(receiver_hl, "19", True)
                out.append(["NM1", "1P", "2", text(provider[0].provider_name), "", "", "", "", "XX",
                            provider[0].provider_npi])
                for subscriber in _subscriber_runs(provider):
                    has_dependents = any(i.dependent is not None for i in subscriber)
                    subscriber_hl = level(provider_hl, "22", has_dependents)
                    out.extend(person(subscriber[0].subscriber, "IL"))
                    for item in subscriber:
                        if item.dependent is None:
                            out.extend(claim(item))
                    dependents = [i for i in subscriber if i.dependent is not None]
                    for dependent in _runs(dependents, lambda i: i.dependent):
                        level(subscriber_hl, "23", None)
                        assert dependent[0].dependent is not None
                        out.extend(person(dependent[0].dependent, "QC"))
                        for item in dependent:
                            out.extend(claim(item))
    return out


# --- reading --------------------------------------------------------------------------------


def read_person(cur: Cursor, entity: str, loop: str, *, demographics: bool) -> Person:
    """A subscriber (``entity`` IL) or dependent (QC) level after its HL: the 276's optional DMG,
    then the NM1 of loop ``loop`` (2100D/2100E)."""
    birth = gender = None
    if demographics and (dmg := cur.take("DMG")) is not None:
        expect_code(dmg, 1, ("D8",))
        birth = required_date(dmg, 2)
        if dmg.el(3):
            gender = cast(Gender, expect_code(dmg, 3, GENDERS))
    name = "subscriber" if entity == "IL" else "dependent"
    nm1 = cur.expect("NM1", entity, f"loop {loop} {name} name")
    member_id = ""
    if entity == "IL":
        expect_code(nm1, 8, ("MI", "II", "24"))
        member_id = required(nm1, 9)
    return Person(last_name=required(nm1, 3), first_name=nm1.el(4), member_id=member_id, birth_date=birth,
                  gender=gender)


def _party(cur: Cursor, entity: str, loop: str, what: str, qualifiers: tuple[str, ...]) -> tuple[str, str]:
    nm1 = cur.expect("NM1", entity, f"loop {loop} {what}")
    expect_code(nm1, 8, qualifiers)
    return nm1.el(3), required(nm1, 9)


def read_transaction(
    ts: TransactionSet, *, purpose: str, demographics: bool, level_statuses: Callable[[Cursor, str], None] | None,
    claim: Callable[[Cursor, Parties, str], R],
) -> list[R]:
    """Every claim loop of one 276 or 277 transaction set (BHT*0010*``purpose``: 13 request, 08
    response), each read by ``claim`` with its parties and its loop id (2200D/2200E). ``level_statuses``
    reads what a 277 may put under the receiver and provider levels (2200B/2200C); a 276 has
    nothing there, but DMG (``demographics``) on the subscriber and dependent levels."""
    cur = Cursor(ts.body, ts.segments[-1])
    bht = cur.expect("BHT", what="beginning of hierarchical transaction")
    expect_code(bht, 1, ("0010",))
    expect_code(bht, 2, (purpose,))
    required_date(bht, 4)
    transaction = ts.id
    out: list[R] = []
    payer = receiver = provider = ("", "")
    parents: dict[str, str] = {}
    subscriber: Person | None = None
    if not cur.at("HL"):
        cur.expect("HL", what="loop 2000A information source level")
    while cur.at("HL"):
        head = cur.peek()
        assert head is not None
        code = head.el(3)
        parent_code = {"20": None, "21": "20", "19": "21", "22": "19", "23": "22"}.get(code, "")
        if parent_code == "":
            seg = cur.next()
            raise element_error(seg, 3, "must be 20, 21, 19, 22 or 23 (a level of the 005010X212 hierarchy)")
        if parent_code is not None and parent_code not in parents:
            raise segment_error(cur.next(), f"HL {code} level has no enclosing HL {parent_code} level")
        hl = expect_hl(cur, code, parents.get(parent_code) if parent_code else None, _LEVELS[code])
        parents[code] = required(hl, 1)
        for deeper in _DEEPER[code]:
            parents.pop(deeper, None)
        if code == "20":
            payer = _party(cur, "PR", "2100A", "payer name", ("PI", "XV"))
            if level_statuses is not None:
                cur.take("PER")
        elif code == "21":
            receiver = _party(cur, "41", "2100B", "information receiver name", ("46",))
            if level_statuses is not None:
                level_statuses(cur, "2200B")
        elif code == "19":
            provider = _party(cur, "1P", "2100C", "provider name", ("XX", "FI", "SV"))
            if level_statuses is not None:
                level_statuses(cur, "2200C")
        else:
            dependent = None
            if code == "22":
                subscriber = read_person(cur, "IL", "2100D", demographics=demographics)
            else:
                dependent = read_person(cur, "QC", "2100E", demographics=demographics)
            assert subscriber is not None
            parties = Parties(payer_name=payer[0], payer_id=payer[1], receiver_name=receiver[0],
                              receiver_id=receiver[1], provider_name=provider[0], provider_npi=provider[1],
                              subscriber=subscriber, dependent=dependent)
            loop = "2200D" if code == "22" else "2200E"
            before = len(out)
            while cur.at("TRN"):
                out.append(claim(cur, parties, loop))
            if code == "23" and len(out) == before:
                cur.expect("TRN", what="loop 2200E claim status tracking number")  # raises: it is required
        if cur.peek() is not None and not cur.at("HL"):
            raise cur.unexpected(f"the {transaction} ({_LEVELS[code]})")
    if not out:
        raise X12SyntaxError(f"the {transaction} holds no claim status tracking loop (2200D/2200E)")
    return out


_LEVELS = {"20": "loop 2000A information source level", "21": "loop 2000B information receiver level",
           "19": "loop 2000C service provider level", "22": "loop 2000D subscriber level",
           "23": "loop 2000E dependent level"}
_DEEPER = {"20": ("21", "19", "22", "23"), "21": ("19", "22", "23"), "19": ("22", "23"), "22": ("23",), "23": ()}


# --- checks ---------------------------------------------------------------------------------


def _finding(seg: Segment, code: str, element: str | None, message: str) -> X12Issue:
    return X12Issue(code=code, message=message, position=seg.position, segment_id=seg.tag, element=element)


def structure_issues(ts: TransactionSet, read: Callable[[TransactionSet], object]) -> Iterator[X12Issue | X12Error]:
    """The reader's first error (``read`` is the 276's or the 277's), then what the readers take
    but the guide forbids in the HL hierarchy: HL01 numbers out of sequence, and an HL04 (child
    code) that does not say whether a child level follows; the payer, receiver and provider
    levels must have a child level."""
    try:
        read(ts)
    except X12Error as exc:
        yield exc
    hls = [seg for seg in ts.body if seg.tag == "HL"]
    for n, hl in enumerate(hls, start=1):
        level = _LEVELS.get(hl.el(3), "loop 2000")
        if hl.el(1) != str(n):
            yield _finding(hl, "hl_sequence", "HL01", f"HL01 of {level} is not {n} (HL01 numbers run from 1 by 1)")
        children = [other for other in hls[n:] if other.el(2) == hl.el(1)]
        if hl.el(3) == "23":
            continue
        if hl.el(3) in {"20", "21", "19"} and not children:
            yield _finding(hl, "hl_no_child", "HL04", f"{level} has no subordinate HL level")
        if hl.el(4) != ("1" if children else "0"):
            says = "a child level" if children else "no child level"
            yield _finding(hl, "hl_child_code", "HL04", f"HL04 of {level} must be {'1' if children else '0'}: "
                                                        f"{says} follows")


# --- the normalized JSON document -----------------------------------------------------------


def person_json(p: Person | None) -> dict[str, Any] | None:
    if p is None:
        return None
    return {"last_name": p.last_name, "first_name": p.first_name or None, "member_id": p.member_id or None,
            "birth_date": json_date(p.birth_date), "gender": p.gender}


def parties_json(item: HasParties) -> dict[str, Any]:
    return {"payer_name": item.payer_name, "payer_id": item.payer_id, "receiver_name": item.receiver_name,
            "receiver_id": item.receiver_id, "provider_name": item.provider_name, "provider_npi": item.provider_npi,
            "subscriber": person_json(item.subscriber), "dependent": person_json(item.dependent)}
