"""Hypothesis strategies that break X12 files the ways partners and networks do: a segment or
element lost or doubled, an element garbled (separators included), the file cut short, random
bytes spliced in, a byte-order mark, other separators, trailer counts that do not match."""

from __future__ import annotations

import random
import string
from pathlib import Path

from hypothesis import strategies as st

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "x12" / "public"


def fixture(name: str) -> str:
    return (FIXTURES / name).read_text(encoding="utf-8")


def _split(text: str) -> tuple[str, str, list[str]]:
    """(element separator, segment terminator, segments) of a fixture's first ISA."""
    start = text.index("ISA")
    element, terminator = text[start + 3], text[start + 105]
    segments = [s.strip("\r\n") for s in text[start:].split(terminator)]
    return element, terminator, [s for s in segments if s]


# Letters, digits and every character that can be a separator: a garbled element may split
# or join segments, elements and components.
_GARBLE = st.text(alphabet=string.ascii_letters + string.digits + "*~:^|!>{}\\ \r\n\t-.+", max_size=20)
_NOISE = st.text(max_size=12)  # any unicode, control characters and surrogates-free by default


SEGMENT_MOVES = ("drop", "double", "swap")


def move_segment(kind: str, segments: list[str], i: int, rnd: random.Random) -> None:
    """A segment lost, sent twice, or out of order (X12 and HL7 alike)."""
    if kind == "drop":
        del segments[i]
    elif kind == "double":
        segments.insert(i, segments[i])
    else:
        j = rnd.randrange(len(segments))
        segments[i], segments[j] = segments[j], segments[i]


@st.composite
def mutated(draw: st.DrawFn, text: str) -> str:
    """`text` (one X12 file) with one to four mutations."""
    element, terminator, segments = _split(text)
    # Positions uniformly over the file: hypothesis' integers favour 0, which would keep hitting
    # the ISA and hide the readers of the transaction sets behind "does not start with ISA".
    # (st.randoms() draws through hypothesis too, with the same bias; a seeded Random does not.)
    rnd = random.Random(draw(st.integers(0, 2**32)))
    for _ in range(draw(st.integers(1, 4))):
        if not segments:
            break
        kind = draw(st.sampled_from(
            [*SEGMENT_MOVES, "drop_element", "garble", "count", "truncate", "splice",
             "bom", "separators", "empty_elements"]))
        i = rnd.randrange(len(segments))
        parts = segments[i].split(element)
        if kind in SEGMENT_MOVES:
            move_segment(kind, segments, i, rnd)
        elif kind == "drop_element" and len(parts) > 1:
            del parts[rnd.randrange(1, len(parts))]
            segments[i] = element.join(parts)
        elif kind == "garble" and len(parts) > 1:
            parts[rnd.randrange(1, len(parts))] = draw(_GARBLE)
            segments[i] = element.join(parts)
        elif kind == "count":
            # SE01, GE01, IEA01 (and any other first element) off by a little or not a number.
            if len(parts) > 1:
                parts[1] = draw(st.sampled_from(["0", "999999", "-1", "", "1.5", "x", "00000000001"]))
                segments[i] = element.join(parts)
        elif kind == "truncate":
            joined = terminator.join(segments)
            cut = rnd.randrange(len(joined) + 1)
            segments = [s for s in joined[:cut].split(terminator) if s]
        elif kind == "splice":
            at = rnd.randrange(len(segments[i]) + 1)
            segments[i] = segments[i][:at] + draw(_NOISE) + segments[i][at:]
        elif kind == "bom":
            segments[0] = "\ufeff" + segments[0]
        elif kind == "separators":
            # The whole file with another separator (valid X12), or only some segments (broken).
            new = draw(st.sampled_from(["|", "^", ":", "~", "*", "!"]))
            if draw(st.booleans()):
                segments = [s.replace(element, new) for s in segments]
                element = new
            else:
                segments[i] = segments[i].replace(element, new)
        elif kind == "empty_elements":
            segments[i] = element.join(["" if n and draw(st.booleans()) else p for n, p in enumerate(parts)])
    return terminator.join(segments) + (terminator if segments else "")


def files(*names: str) -> st.SearchStrategy[str]:
    """Mutations of the named fixtures, and now and then bytes that are not X12 at all."""
    mutations = st.sampled_from(names).flatmap(lambda name: mutated(fixture(name)))
    return st.one_of(
        mutations, mutations, mutations, mutations,  # weighted: most cases are near-valid files
        st.text(max_size=300),
        st.sampled_from(names).map(lambda name: fixture(name)[:106] + "GS*"),
    )
