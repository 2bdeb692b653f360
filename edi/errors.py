"""Error types of the X12 codec.

Messages name segment positions, segment ids and element numbers only: X12 files carry
PHI, so an error text must never echo an element value.
"""

from __future__ import annotations


class X12Error(ValueError):
    """A problem in X12 text, located by 1-based segment position and segment id."""

    def __init__(self, message: str, *, position: int | None = None, segment_id: str | None = None) -> None:
        self.message = message
        self.position = position
        self.segment_id = segment_id
        super().__init__(self._render())

    def _render(self) -> str:
        if self.position is None:
            return self.message if self.segment_id is None else f"{self.segment_id}: {self.message}"
        where = f"segment {self.position}"
        if self.segment_id:
            where += f" ({self.segment_id})"
        return f"{where}: {self.message}"

    def __str__(self) -> str:
        return self._render()


class X12SyntaxError(X12Error):
    """The text cannot be split into segments (bad ISA, truncated file, bad segment id)."""


class X12EnvelopeError(X12Error):
    """ISA/GS/ST envelopes are missing, unbalanced or have mismatched control numbers or counts."""
