"""An installation upgraded to the books (migration 0006): what the old posting wrote, a crossover
booked twice (every 835 credited the full charge to `claim_charge` and posted its CAS verbatim: the
phantom receivable issue 13 found), is restated at start, append-only, to one receivable."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from services.chassis.db import create_pool
from services.chassis.settings import Settings
from services.remits import store
from services.remits.app import DEFINITION
from services.remits.domain.cards import PayerLine, figures, held_figures, problems
from services.remits.service import books
from tests.support.upgrades import installed_before, upgrade

pytestmark = pytest.mark.integration
D = Decimal
ZERO = D("0.00")
AT = datetime(2026, 4, 8, 15, 0, tzinfo=UTC)

LEGACY = [
    # (journal, posting, payer, account, code, amount): the old per-CLP journals of one crossover.
    ("jnl_m", "pst_m", "01182", "claim_charge", "", D("-192.00")),
    ("jnl_m", "pst_m", "01182", "contractual_writeoff", "45", D("92.16")),
    ("jnl_m", "pst_m", "01182", "patient_deductible", "1", D("99.84")),
    ("jnl_c", "pst_c", "610442", "payer_cash", "", D("78.72")),
    ("jnl_c", "pst_c", "610442", "claim_charge", "", D("-192.00")),
    ("jnl_c", "pst_c", "610442", "contractual_writeoff", "45", D("113.28")),
]


async def test_books_posted_before_0006_are_restated_to_one_receivable(platform: Settings) -> None:
    # The installation as it was: its rows written by the schema owner, as the old service did.
    async with installed_before(platform, DEFINITION, "service/0006") as (conn, later):
        await conn.execute(
            "INSERT INTO submissions (submission_id, claim_id, claim_family_id, encounter_id, patient_account_id,"
            " payer_id, payer_name, coverage_rank, next_payer_rank, next_payer_id, frequency, total_charge, lines,"
            " submitted_at) VALUES ('SUP1', 'clm_up', 'fam_up', 'enc_up', 'PA-UP', '01182', 'Medicare', 1, 2,"
            " '610442', '1', 192.00, $1::jsonb, $2)",
            '[{"line_control_number": "SUP1-1", "charge_id": "chg_up", "procedure_code": "99214",'
            ' "service_date": "2026-03-02", "charge": "192.00", "expected_allowed": null, "description": null}]', AT)
        await conn.execute(
            "INSERT INTO remittance_files (file_id, sha256, file_name, source, raw, status, received_at, updated_at)"
            " VALUES ('rmf_up', 'x', 'up.835', 'test', ''::bytea, 'posted', $1, $1)", AT)
        for rem, payer in (("rem_m", "01182"), ("rem_c", "610442")):
            await conn.execute(
                "INSERT INTO remittances (remittance_id, file_id, payer_id, payer_name, trace_number, total_payment,"
                " plb_total, payment_date, received_at) VALUES ($1, 'rmf_up', $2, $2, $1, 0, 0, '2026-04-08', $3)",
                rem, payer, AT)
        for posting, rem, payer, status, rank, paid, pr in (("pst_m", "rem_m", "01182", "19", 1, "0.00", "99.84"),
                                                            ("pst_c", "rem_c", "610442", "2", 2, "78.72", "0.00")):
            await conn.execute(
                "INSERT INTO postings (posting_id, remittance_id, claim_index, reported_submission, claim_id,"
                " claim_family_id, encounter_id, patient_account_id, payer_id, status, rank, payer_claim_control,"
                " charge, paid, patient_resp, outcome, posted_at) VALUES ($1, $2, 1, 'SUP1', 'clm_up', 'fam_up',"
                " 'enc_up', 'PA-UP', $3, $4, $5, 'PCN', 192.00, $6::numeric, $7::numeric, 'posted', $8)",
                posting, rem, payer, status, rank, paid, pr, AT)
        async with conn.transaction():
            for journal, posting, payer, account, code, amount in LEGACY:
                await conn.execute(
                    "INSERT INTO ledger_entries (journal_id, kind, remittance_id, posting_id, claim_id, encounter_id,"
                    " payer_id, account, code, amount, entered_at) VALUES ($1, 'claim', $2, $3, 'clm_up', 'enc_up',"
                    " $4, $5, $6, $7, $8)", journal, "rem_m" if posting == "pst_m" else "rem_c", posting, payer,
                    account, code, amount, AT)
    assert later[0] == "service/0006_books.sql"
    assert await upgrade(platform, DEFINITION) == later

    pool = await create_pool(platform.database_url("remits"), max_size=2)
    try:
        backfilled = await pool.fetch("SELECT posting_id, contractual, pr_deductible FROM postings ORDER BY 1")
        assert [tuple(r) for r in backfilled] == [("pst_c", D("113.28"), ZERO), ("pst_m", D("92.16"), D("99.84"))]
        assert await pool.fetchval("SELECT count(*) FROM books_pending") == 1
        assert await books.restate_pending(pool, AT) == 1
        async with pool.acquire() as conn:
            await store.init_codecs(conn)
            card, = await books.cards(conn, "enc_up")
            assert problems(card) == []
            assert card.payers == (PayerLine("01182", 1, ZERO, D("92.16"), ZERO, ZERO, D("99.84")),
                                   PayerLine("610442", 2, D("78.72"), D("21.12"), ZERO, ZERO, ZERO))
            assert (card.patient_responsibility, card.insurance_balance) == (ZERO, ZERO)
            assert figures(card) == held_figures((await store.audit_book_ledger(conn))["enc_up"])
            # Append-only: the old journals are still there, one books journal restated them.
            legacy = "SELECT count(*) FROM ledger_entries WHERE journal_id IN ('jnl_m', 'jnl_c')"
            assert await conn.fetchval(legacy) == 6
            restated = "SELECT count(DISTINCT journal_id) FROM ledger_entries WHERE kind = 'books'"
            assert await conn.fetchval(restated) == 1
            assert await conn.fetchval("SELECT count(*) FROM books_pending") == 0
            assert await conn.fetchval("SELECT sum(amount) FROM ledger_entries WHERE encounter_id = 'enc_up'"
                                       " AND account = 'claim_charge'") == ZERO
        assert await books.restate_pending(pool, AT) == 0  # nothing left: the task stops
    finally:
        await pool.close()
