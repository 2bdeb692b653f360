-- The remits service's own records: submissions it knows, 835 files, postings, the ledger,
-- denials, patient balances, payments, credits and write-offs.

-- Projection of rcm.claims.v1 ClaimSubmitted: what a CLP01 can match.
CREATE TABLE submissions (
    submission_id      text PRIMARY KEY,
    claim_id           text NOT NULL,
    claim_family_id    text NOT NULL,
    encounter_id       text NOT NULL,
    patient_account_id text NOT NULL,
    payer_id           text NOT NULL,
    payer_name         text NOT NULL,
    coverage_rank      integer NOT NULL,
    next_payer_rank    integer,
    frequency          text NOT NULL,
    total_charge       numeric(12, 2) NOT NULL,
    lines              jsonb NOT NULL,
    submitted_at       timestamptz NOT NULL
);
CREATE INDEX submissions_encounter ON submissions (encounter_id);
CREATE INDEX submissions_claim ON submissions (claim_id);

-- Every 835 file ever received, stored raw with its hash (the same file is posted once).
CREATE TABLE remittance_files (
    file_id      text PRIMARY KEY,
    sha256       text NOT NULL UNIQUE,
    file_name    text NOT NULL,
    source       text NOT NULL,
    raw          bytea NOT NULL,
    status       text NOT NULL CHECK (status IN ('posted', 'quarantined', 'duplicate', 'released')),
    reason       text,
    received_at  timestamptz NOT NULL,
    updated_at   timestamptz NOT NULL
);

-- Arrivals refused as duplicates (same hash, or same payer + TRN02 in a new envelope).
CREATE TABLE duplicate_arrivals (
    id           bigserial PRIMARY KEY,
    kind         text NOT NULL CHECK (kind IN ('file', 'trace')),
    sha256       text NOT NULL,
    file_name    text NOT NULL,
    original     text NOT NULL,       -- file_id or remittance_id it duplicates
    arrived_at   timestamptz NOT NULL
);

-- One row per 835 transaction set posted; payer + trace number posts once.
CREATE TABLE remittances (
    remittance_id   text PRIMARY KEY,
    file_id         text NOT NULL REFERENCES remittance_files,
    payer_id        text NOT NULL,
    payer_name      text NOT NULL,
    trace_number    text NOT NULL,
    total_payment   numeric(12, 2) NOT NULL,
    plb_total       numeric(12, 2) NOT NULL,
    payment_date    date NOT NULL,
    received_at     timestamptz NOT NULL,
    UNIQUE (payer_id, trace_number)
);

-- One row per CLP posted (matched or not).
CREATE TABLE postings (
    posting_id          text PRIMARY KEY,
    remittance_id       text NOT NULL REFERENCES remittances,
    claim_index         integer NOT NULL,
    reported_submission text NOT NULL,
    claim_id            text,
    claim_family_id     text,
    encounter_id        text,
    patient_account_id  text,
    payer_id            text NOT NULL,
    status              text NOT NULL,
    rank                integer NOT NULL,
    payer_claim_control text NOT NULL,
    charge              numeric(12, 2) NOT NULL,
    paid                numeric(12, 2) NOT NULL,
    patient_resp        numeric(12, 2) NOT NULL,
    reverses            text REFERENCES postings,
    outcome             text NOT NULL,     -- posted, denied, reversed, unmatched
    posted_at           timestamptz NOT NULL
);
CREATE INDEX postings_claim ON postings (claim_id);
CREATE UNIQUE INDEX postings_one_reversal ON postings (reverses) WHERE reverses IS NOT NULL;

-- What each posting did to each submitted line (reversals negated): the balance items.
CREATE TABLE posting_lines (
    posting_id   text NOT NULL REFERENCES postings,
    claim_id     text NOT NULL,
    encounter_id text NOT NULL,
    rank         integer NOT NULL,
    charge_id    text NOT NULL,
    line_control text NOT NULL,
    charge       numeric(12, 2) NOT NULL,
    paid         numeric(12, 2) NOT NULL,
    deductible   numeric(12, 2) NOT NULL,
    coinsurance  numeric(12, 2) NOT NULL,
    copay        numeric(12, 2) NOT NULL,
    other        numeric(12, 2) NOT NULL
);
CREATE INDEX posting_lines_encounter ON posting_lines (encounter_id);

-- The append-only double-entry ledger: every journal sums to zero.
CREATE TABLE ledger_entries (
    entry_id           bigserial PRIMARY KEY,
    journal_id         text NOT NULL,
    kind               text NOT NULL,    -- claim, reversal, unmatched, plb, patient_payment, refund, write_off, credit
    remittance_id      text,
    posting_id         text,
    claim_id           text,
    encounter_id       text,
    balance_id         text,
    payer_id           text,
    patient_account_id text,
    account            text NOT NULL,
    code               text NOT NULL DEFAULT '',
    line_control       text,
    amount             numeric(12, 2) NOT NULL,
    entered_at         timestamptz NOT NULL
);
CREATE INDEX ledger_journal ON ledger_entries (journal_id);
CREATE INDEX ledger_remittance ON ledger_entries (remittance_id);
CREATE FUNCTION ledger_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'ledger_entries is append-only: post a reversing journal instead';
END $$;
CREATE TRIGGER ledger_append_only BEFORE UPDATE OR DELETE ON ledger_entries
    FOR EACH ROW EXECUTE FUNCTION ledger_append_only();
CREATE FUNCTION ledger_journal_balanced() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF (SELECT sum(amount) FROM ledger_entries WHERE journal_id = NEW.journal_id) <> 0 THEN
        RAISE EXCEPTION 'ledger journal % does not balance', NEW.journal_id;
    END IF;
    RETURN NULL;
END $$;
CREATE CONSTRAINT TRIGGER ledger_journal_balanced AFTER INSERT ON ledger_entries
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION ledger_journal_balanced();

CREATE TABLE denials (
    denial_id     bigserial PRIMARY KEY,
    posting_id    text NOT NULL REFERENCES postings,
    claim_id      text NOT NULL,
    payer_id      text NOT NULL,
    scope         text NOT NULL,
    line_control  text,
    grp           text NOT NULL,
    reason_code   text NOT NULL,
    amount        numeric(12, 2) NOT NULL,
    category      text NOT NULL,
    action        text NOT NULL,
    opened_at     timestamptz NOT NULL
);

CREATE TABLE unmatched (
    id                  bigserial PRIMARY KEY,
    remittance_id       text NOT NULL,
    reported_submission text NOT NULL,
    reason              text NOT NULL,
    st_control          text NOT NULL,
    claim_index         integer NOT NULL,
    segment_number      integer NOT NULL,
    total_paid          numeric(12, 2) NOT NULL,
    detected_at         timestamptz NOT NULL
);

-- One patient balance per encounter (a projection; the ledger holds the money).
CREATE TABLE balances (
    balance_id         text PRIMARY KEY,
    encounter_id       text NOT NULL UNIQUE,
    patient_account_id text NOT NULL,
    claim_ids          text[] NOT NULL,
    items              jsonb NOT NULL,
    total              numeric(12, 2) NOT NULL,
    patient_paid       numeric(12, 2) NOT NULL DEFAULT 0,
    written_off        numeric(12, 2) NOT NULL DEFAULT 0,
    revision           integer NOT NULL,
    due_date           date NOT NULL,
    created_at         timestamptz NOT NULL,
    updated_at         timestamptz NOT NULL,
    CHECK (total - patient_paid - written_off >= 0)
);
CREATE INDEX balances_account ON balances (patient_account_id);

CREATE TABLE payments (
    payment_id         text PRIMARY KEY,
    idempotency_key    text NOT NULL UNIQUE,
    patient_account_id text NOT NULL,
    amount             numeric(12, 2) NOT NULL,
    method             text NOT NULL,
    received_on        date NOT NULL,
    applications       jsonb NOT NULL,
    unapplied          numeric(12, 2) NOT NULL,
    credit_balance_id  text,
    posted_at          timestamptz NOT NULL
);

CREATE TABLE credits (
    credit_balance_id  text PRIMARY KEY,
    patient_account_id text NOT NULL,
    amount             numeric(12, 2) NOT NULL,
    remaining          numeric(12, 2) NOT NULL CHECK (remaining >= 0),
    origin             text NOT NULL,
    payment_id         text,
    balance_id         text,
    created_at         timestamptz NOT NULL
);

CREATE TABLE refunds (
    idempotency_key    text PRIMARY KEY,
    credit_balance_id  text NOT NULL REFERENCES credits,
    amount             numeric(12, 2) NOT NULL,
    issued_at          timestamptz NOT NULL
);

CREATE TABLE writeoffs (
    writeoff_id  text PRIMARY KEY,
    balance_id   text NOT NULL REFERENCES balances,
    amount       numeric(12, 2) NOT NULL,
    reason       text NOT NULL,
    operator_id  text,
    written_at   timestamptz NOT NULL
);
