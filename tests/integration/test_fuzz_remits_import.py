"""Fuzzing the 835 import at the store level (issue 16): mutated 835 files (the pure gate
fuzzer's strategy) and the public fixtures through `remittances.ingest` (what `rcm remits
import`, the clearinghouse poller and the HTTP upload call), on a real Postgres.

Every file ends posted, quarantined with a reason, or duplicate, and never raises (the poller
would retry a raising file at every pass); a quarantined file posted nothing: no remittance,
posting or ledger row of its own (the savepoint rolled them back)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from services.remits.service import remittances
from tests.integration.test_remits_invariants import pool
from tests.support.fuzzing import drawn
from tests.unit.fuzz.test_fuzz_x12 import FILE_BYTES, FILES_835
from tests.unit.fuzz.x12_mutations import fixture

pytestmark = pytest.mark.integration
__all__ = ["pool"]  # the remits pool fixture, migrated, shared with the invariants tests
CASES = 120
NOW = datetime(2026, 4, 20, 9, tzinfo=UTC)


def _collect(count: int) -> list[bytes]:
    found = drawn(FILE_BYTES, count)
    return [fixture(name).encode() for name in FILES_835] + found


async def test_every_fuzzed_835_is_posted_quarantined_or_duplicate_and_nothing_half_posted(
    pool: asyncpg.Pool,
) -> None:
    statuses: dict[str, int] = {}
    late: list[str] = []  # quarantined while posting: after rows were written, then rolled back
    async with pool.acquire() as conn:
        for n, raw in enumerate(_collect(CASES)):
            result = await remittances.ingest(conn, raw, f"fuzz-{n}.835", "fuzz", NOW + timedelta(seconds=n))
            statuses[result.status] = statuses.get(result.status, 0) + 1
            own = await conn.fetchval("SELECT count(*) FROM remittances WHERE file_id = $1", result.file_id)
            row = await conn.fetchrow("SELECT status, reason FROM remittance_files WHERE file_id = $1",
                                      result.file_id)
            if result.status == "quarantined":
                assert result.reason and row["status"] == "quarantined" and row["reason"] == result.reason
                assert own == 0, "a quarantined file posted nothing"
                if result.reason.startswith("ST "):
                    late.append(result.reason)
            elif result.status == "posted":
                assert own == len(result.remittance_ids) > 0
            else:
                assert result.status == "duplicate" and result.reason
        # The ledger names its remittance without a foreign key: none may name one that is not there.
        orphans = await conn.fetchval(
            "SELECT count(*) FROM ledger_entries l WHERE l.remittance_id IS NOT NULL"
            " AND NOT EXISTS (SELECT 1 FROM remittances r WHERE r.remittance_id = l.remittance_id)")
        assert orphans == 0
    # The public fixtures do not post here (the one that reads and balances has a payee NPI that
    # fails its check digit): what this proves is the refusals, early and late. Posting itself,
    # by the thousand, is test_remits_invariants'.
    assert statuses.get("quarantined") and late, statuses
