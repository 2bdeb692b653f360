-- The books: one receivable per encounter across its payers (docs/remits.md, "The books").
-- Postings keep what each 835 claim payment said, sorted by how it posts; the ledger holds the
-- encounter's books, restated by a `books` journal whenever a posting, a submission, a recoupment
-- or a write-off changes them. Encounters posted before this are restated by the service at start.

-- Which payer (coverage rank) a row of an encounter's books is about.
ALTER TABLE ledger_entries ADD COLUMN payer_rank smallint;
CREATE INDEX ledger_encounter ON ledger_entries (encounter_id) WHERE encounter_id IS NOT NULL;
-- Claim journals posted before this say it through their posting. Setting the new column is an
-- annotation, not a change of amount: the append-only trigger is lifted for this statement only.
ALTER TABLE ledger_entries DISABLE TRIGGER ledger_append_only;
UPDATE ledger_entries l SET payer_rank = p.rank
  FROM postings p WHERE l.posting_id = p.posting_id AND l.kind IN ('claim', 'reversal');
ALTER TABLE ledger_entries ENABLE TRIGGER ledger_append_only;

-- What each posting's CAS said (domain/posting.amounts_of); a reversal carries them negated.
ALTER TABLE postings ADD COLUMN contractual numeric(12, 2) NOT NULL DEFAULT 0;
ALTER TABLE postings ADD COLUMN denied numeric(12, 2) NOT NULL DEFAULT 0;
ALTER TABLE postings ADD COLUMN other_adjustment numeric(12, 2) NOT NULL DEFAULT 0;
ALTER TABLE postings ADD COLUMN prior_payer numeric(12, 2) NOT NULL DEFAULT 0;      -- CARC 23
ALTER TABLE postings ADD COLUMN pr_deductible numeric(12, 2) NOT NULL DEFAULT 0;
ALTER TABLE postings ADD COLUMN pr_coinsurance numeric(12, 2) NOT NULL DEFAULT 0;
ALTER TABLE postings ADD COLUMN pr_copay numeric(12, 2) NOT NULL DEFAULT 0;
ALTER TABLE postings ADD COLUMN pr_other numeric(12, 2) NOT NULL DEFAULT 0;
ALTER TABLE postings ADD COLUMN pr_share_of_cost numeric(12, 2) NOT NULL DEFAULT 0;  -- PR-178, part of pr_other
CREATE INDEX postings_encounter ON postings (encounter_id) WHERE encounter_id IS NOT NULL;

-- Postings made before this kept their CAS only as claim journal rows: read them back from there.
UPDATE postings p SET
    contractual = x.contractual, denied = x.denied, other_adjustment = x.other_adjustment,
    prior_payer = x.prior_payer, pr_deductible = x.pr_deductible, pr_coinsurance = x.pr_coinsurance,
    pr_copay = x.pr_copay, pr_other = x.pr_other, pr_share_of_cost = x.pr_share_of_cost
FROM (
    SELECT posting_id,
           COALESCE(sum(amount) FILTER (WHERE account = 'contractual_writeoff'), 0) AS contractual,
           COALESCE(sum(amount) FILTER (WHERE account = 'denied_open'), 0) AS denied,
           COALESCE(sum(amount) FILTER (WHERE account = 'other_adjustment' AND code <> '23'), 0) AS other_adjustment,
           COALESCE(sum(amount) FILTER (WHERE account = 'other_adjustment' AND code = '23'), 0) AS prior_payer,
           COALESCE(sum(amount) FILTER (WHERE account = 'patient_deductible'), 0) AS pr_deductible,
           COALESCE(sum(amount) FILTER (WHERE account = 'patient_coinsurance'), 0) AS pr_coinsurance,
           COALESCE(sum(amount) FILTER (WHERE account = 'patient_copay'), 0) AS pr_copay,
           COALESCE(sum(amount) FILTER (WHERE account = 'patient_other'), 0) AS pr_other,
           COALESCE(sum(amount) FILTER (WHERE account = 'patient_other' AND code = '178'), 0) AS pr_share_of_cost
      FROM ledger_entries WHERE kind IN ('claim', 'reversal') AND posting_id IS NOT NULL
     GROUP BY posting_id
) x
WHERE x.posting_id = p.posting_id;

-- Medicaid / QMB protection of the claim (ClaimSubmitted.patient_protection).
ALTER TABLE submissions ADD COLUMN protection text CHECK (protection IN ('medicaid', 'qmb'));
ALTER TABLE submissions ADD COLUMN share_of_cost numeric(12, 2);

-- PLB recoupments (WO, 72) that name a claim: they reopen that claim's books.
CREATE TABLE recoupments (
    id               bigserial PRIMARY KEY,
    remittance_id    text NOT NULL REFERENCES remittances,
    reference        text NOT NULL,
    claim_id         text NOT NULL,
    claim_family_id  text NOT NULL,
    encounter_id     text NOT NULL,
    payer_id         text NOT NULL,
    payer_rank       integer NOT NULL,
    amount           numeric(12, 2) NOT NULL,
    recouped_at      timestamptz NOT NULL
);
CREATE INDEX recoupments_encounter ON recoupments (encounter_id);

-- What an operator wrote off of a payer's open denials and balance (`rcm remits writeoff`).
CREATE TABLE insurance_writeoffs (
    writeoff_id      text PRIMARY KEY,
    claim_id         text NOT NULL,
    claim_family_id  text NOT NULL,
    encounter_id     text NOT NULL,
    payer_id         text NOT NULL,
    payer_rank       integer NOT NULL,
    amount           numeric(12, 2) NOT NULL CHECK (amount > 0),
    reason           text NOT NULL,
    operator_id      text NOT NULL,
    note             text,
    written_at       timestamptz NOT NULL
);
CREATE INDEX insurance_writeoffs_encounter ON insurance_writeoffs (encounter_id);

-- Encounters whose books the service still has to restate (those posted before this migration).
CREATE TABLE books_pending (
    encounter_id text PRIMARY KEY,
    queued_at    timestamptz NOT NULL
);
INSERT INTO books_pending (encounter_id, queued_at)
SELECT DISTINCT encounter_id, now() FROM submissions;
