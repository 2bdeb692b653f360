"""Element-level helpers shared by the 835, 999, 277CA, 276 and 277 readers and writers.

Every reader error goes through here so messages have one shape: the segment position, the
segment id and the element reference, never the element's value (X12 files carry PHI).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import TypeVar

from edi.segments import is_digits
from edi.x12 import Segment, X12SyntaxError

# X12 "R" (decimal) values: optional minus, digits with an optional fraction; no exponent or plus
# sign, which Decimal() would otherwise accept silently.
_DECIMAL_RE = re.compile(r"-?(?:\d+(?:\.\d*)?|\.\d+)", re.ASCII)
_INT_RE = re.compile(r"\d+", re.ASCII)
_CENT = Decimal("0.01")

E = TypeVar("E", bound=StrEnum)


def segment_error(seg: Segment, message: str) -> X12SyntaxError:
    return X12SyntaxError(message, position=seg.position, segment_id=seg.tag)


def element_error(seg: Segment, i: int, problem: str) -> X12SyntaxError:
    return segment_error(seg, f"{seg.name(i)} {problem}")


def required(seg: Segment, i: int) -> str:
    value = seg.el(i)
    if not value:
        raise element_error(seg, i, "is required")
    return value


def optional_decimal(seg: Segment, i: int, what: str = "decimal amount") -> Decimal | None:
    value = seg.el(i)
    if value == "":
        return None
    if not _DECIMAL_RE.fullmatch(value):
        raise element_error(seg, i, f"is not a {what}")
    try:
        return Decimal(value)
    except InvalidOperation:  # pragma: no cover - the regex already rules this out
        raise element_error(seg, i, f"is not a {what}") from None


def required_decimal(seg: Segment, i: int, what: str = "decimal amount") -> Decimal:
    required(seg, i)
    result = optional_decimal(seg, i, what)
    assert result is not None
    return result


def optional_quantity(seg: Segment, i: int) -> Decimal | None:
    return optional_decimal(seg, i, "decimal quantity")


def required_int(seg: Segment, i: int) -> int:
    value = required(seg, i)
    if not _INT_RE.fullmatch(value):
        raise element_error(seg, i, "is not a whole number")
    return int(value)


def optional_int(seg: Segment, i: int) -> int | None:
    return required_int(seg, i) if seg.el(i) else None


def optional_date(seg: Segment, i: int) -> date | None:
    value = seg.el(i)
    return None if value == "" else _date(seg, i, value)


def required_date(seg: Segment, i: int) -> date:
    return _date(seg, i, required(seg, i))


def _date(seg: Segment, i: int, value: str) -> date:
    if len(value) != 8 or not is_digits(value):
        raise element_error(seg, i, "is not a CCYYMMDD date")
    try:
        return date(int(value[:4]), int(value[4:6]), int(value[6:]))
    except ValueError:
        raise element_error(seg, i, "is not a valid calendar date") from None


def parse_period(seg: Segment, qualifier_i: int, value_i: int) -> tuple[date, date]:
    """A DTP date or period: ``D8`` CCYYMMDD (start = end) or ``RD8`` CCYYMMDD-CCYYMMDD."""
    qualifier = required(seg, qualifier_i)
    value = required(seg, value_i)
    if qualifier == "D8":
        day = _date(seg, value_i, value)
        return day, day
    if qualifier == "RD8":
        start, sep, end = value.partition("-")
        if not sep:
            raise element_error(seg, value_i, "is not a CCYYMMDD-CCYYMMDD period")
        first, last = _date(seg, value_i, start), _date(seg, value_i, end)
        if last < first:
            raise element_error(seg, value_i, "ends before it starts")
        return first, last
    raise element_error(seg, qualifier_i, "is not a supported date format qualifier (D8 or RD8)")


def parse_enum(seg: Segment, i: int, enum: type[E], what: str = "valid code") -> E:
    value = required(seg, i)
    try:
        return enum(value)
    except ValueError:
        raise element_error(seg, i, f"is not a {what}") from None


def expect_code(seg: Segment, i: int, allowed: Sequence[str]) -> str:
    value = required(seg, i)
    if value not in allowed:
        raise element_error(seg, i, f"must be one of {', '.join(allowed)}")
    return value


# --- writing --------------------------------------------------------------------------------


def format_amount(value: Decimal) -> str:
    """X12 ``R`` form: no exponent, no trailing fractional zeros, no negative zero."""
    if value == 0:
        return "0"
    text = format(value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text


def format_optional(value: Decimal | None) -> str:
    return "" if value is None else format_amount(value)


def format_date(value: date) -> str:
    return value.strftime("%Y%m%d")


def format_period(start: date, end: date) -> tuple[str, str]:
    """DTP02/DTP03 for a date or a period."""
    if start == end:
        return "D8", format_date(start)
    return "RD8", f"{format_date(start)}-{format_date(end)}"


# --- the normalized JSON document -----------------------------------------------------------


def json_amount(value: Decimal) -> str:
    """Cents as a string ("125.00"); finer precision (rare unit prices) is kept, not rounded."""
    cents = value.quantize(_CENT)
    if cents == value:
        return format(cents, "f")
    return format(value, "f")


def json_optional_amount(value: Decimal | None) -> str | None:
    return None if value is None else json_amount(value)


def json_quantity(value: Decimal | None) -> str | None:
    return None if value is None else format_amount(value)


def json_date(value: date | None) -> str | None:
    return None if value is None else value.isoformat()


class Cursor:
    """Walks the body of one transaction set (between ST and SE) loop by loop."""

    def __init__(self, segments: Sequence[Segment], trailer: Segment) -> None:
        self._segments = segments
        self._index = 0
        self._trailer = trailer  # SE: where "missing segment" errors point when the body ran out

    def peek(self) -> Segment | None:
        return self._segments[self._index] if self._index < len(self._segments) else None

    def at(self, tag: str, qualifier: str | None = None) -> bool:
        seg = self.peek()
        return seg is not None and seg.tag == tag and (qualifier is None or seg.el(1) == qualifier)

    def next(self) -> Segment:
        seg = self.peek()
        if seg is None:
            raise segment_error(self._trailer, "transaction set ends unexpectedly")
        self._index += 1
        return seg

    def take(self, tag: str, qualifier: str | None = None) -> Segment | None:
        return self.next() if self.at(tag, qualifier) else None

    def expect(self, tag: str, qualifier: str | None = None, what: str = "") -> Segment:
        if self.at(tag, qualifier):
            return self.next()
        wanted = f"{tag}*{qualifier}" if qualifier else tag
        if what:
            wanted += f" ({what})"
        seg = self.peek()
        if seg is None:
            raise segment_error(self._trailer, f"transaction set ends where {wanted} is required")
        raise segment_error(seg, f"found where {wanted} is required")

    def unexpected(self, where: str) -> X12SyntaxError:
        seg = self.peek()
        assert seg is not None
        return segment_error(seg, f"unexpected segment in {where}")


def expect_hl(cur: Cursor, level: str, parent: str | None, what: str) -> Segment:
    """The HL of a ``level`` (HL03) whose HL02 points to ``parent`` (the enclosing level's HL01)."""
    hl = cur.expect("HL", what=what)
    if hl.el(3) != level:
        raise element_error(hl, 3, f"must be {level} ({what})")
    required(hl, 1)
    if parent is not None and hl.el(2) != parent:
        raise element_error(hl, 2, "does not point to the enclosing level's HL01")
    return hl
