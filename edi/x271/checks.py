"""Structural checks of a 271 from the 005010X279A1 segment tables (the engine is the 270's:
``edi.x270.checks``), plus the code lists of EB01 and AAA."""

from __future__ import annotations

from collections.abc import Iterator

from edi.envelope import Interchange, TransactionSet
from edi.issues import X12Issue
from edi.x270.checks import (
    DMG,
    DTP,
    INS,
    NAME_IDS,
    RECEIVER_ENTITIES,
    SOURCE_ENTITIES,
    Loop,
    Seg,
    Tables,
    check_set,
    check_text,
    codes,
    name,
)

BENEFIT_CODES = codes("1", "2", "3", "4", "5", "6", "7", "8", "A", "B", "C", "CB", "D", "E", "F", "G", "H", "I", "J",
                      "K", "L", "M", "MC", "N", "O", "P", "Q", "R", "S", "T", "U", "V", "W", "X", "Y")
"""EB01 eligibility or benefit information codes."""
COVERAGE_LEVELS = codes("CHD", "DEP", "ECH", "EMP", "ESP", "FAM", "IND", "SPC", "SPO")
TIME_PERIODS = codes("6", "7", "13", "21", "22", "23", "24", "25", "26", "27", "28", "29", "30", "31", "32", "33", "34",
                     "35", "36")
YES_NO = codes("Y", "N")
AAA = Seg("AAA", 9, codes={1: YES_NO})
BENEFIT_ENTITIES = codes("13", "1I", "1P", "2B", "36", "73", "FA", "GP", "GW", "I3", "IL", "LR", "P3", "P4", "P5",
                         "PR", "PRP", "SEP", "TTP", "VER", "VN", "VY", "X3", "Y2")

SOURCE = Loop("2000A", (Seg("HL", required=True), AAA,
                        Loop("2100A", (name(SOURCE_ENTITIES), Seg("PER", 3), AAA), required=True)))
RECEIVER = Loop("2000B", (Seg("HL", required=True), Loop("2100B", (
    name(RECEIVER_ENTITIES), Seg("REF", 9), AAA, Seg("PRV")), required=True)))


def _patient(level: str, entity: str) -> Loop:
    letter = level[-1]
    benefit = Seg("EB", required=True, codes={1: BENEFIT_CODES, 2: COVERAGE_LEVELS, 6: TIME_PERIODS, 11: YES_NO,
                                             12: codes("Y", "N", "U", "W")})
    entity_loop = Loop(f"2120{letter}", (Seg("NM1", required=True, codes={1: BENEFIT_ENTITIES, 8: NAME_IDS}),
                                         Seg("N3"), Seg("N4"), Seg("PER", 3), Seg("PRV")), max_repeat=23, required=True)
    return Loop(level, (
        Seg("HL", required=True), Seg("TRN", 3, codes={1: codes("1", "2")}),
        Loop(f"2100{letter}", (name(codes(entity)), Seg("REF", 9), Seg("N3"), Seg("N4"), AAA, Seg("PRV"), DMG, INS,
                               Seg("HI"), Seg("DTP", 9, codes=DTP.codes), Seg("MPI")), required=True),
        Loop(f"2110{letter}", (benefit, Seg("HSD", 9), Seg("REF", 9), Seg("DTP", 20, codes=DTP.codes), AAA,
                               Seg("MSG", 10), Loop(f"2115{letter}", (Seg("III"),), 10),
                               Loop(f"2120{letter} LS/LE", (Seg("LS", required=True, codes={1: codes("2120")}),
                                                            entity_loop, Seg("LE", required=True,
                                                                             codes={1: codes("2120")})))),
             max_repeat=10**6),
    ))


TABLES_271 = Tables(levels={"20": SOURCE, "21": RECEIVER, "22": _patient("2000C", "IL"),
                            "23": _patient("2000D", "03")}, trace_qualifier="2", benefit_trigger="EB")


def check_271_set(ts: TransactionSet, interchange: Interchange) -> Iterator[X12Issue]:
    """``edi.validate`` runs this on every 271."""
    return check_set(ts, TABLES_271, "11")


def check_271(text: str) -> list[X12Issue]:
    """Structural findings of every 271 in ``text``; [] when it follows the 005010X279A1 tables."""
    return check_text(text, "271", TABLES_271, "11")
