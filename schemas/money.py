"""Money as the contracts carry it: `Decimal` with two places, a string on the wire.

The types live in `schemas.types` beside the other value types; this module is the
import path other code reaches for when it only needs money.
"""

from schemas.types import CENT, Money, NonNegativeMoney, PositiveMoney, money_str, to_money

__all__ = ["CENT", "Money", "NonNegativeMoney", "PositiveMoney", "money_str", "to_money"]
