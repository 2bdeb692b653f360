-- The charges service's own records: the encounter, the ids it assigns, and the charge ledger.

-- Our opaque ids for the sender's ids, assigned on first sight by whichever door saw it first.
CREATE TABLE encounter_ids (
    encounter_id        text PRIMARY KEY,
    source_system       text NOT NULL,
    source_encounter_id text NOT NULL,
    created_at          timestamptz NOT NULL DEFAULT now(),
    UNIQUE (source_system, source_encounter_id)
);

CREATE TABLE patient_accounts (
    patient_account_id    text PRIMARY KEY,
    source_system         text NOT NULL,
    source_account_number text NOT NULL,
    created_at            timestamptz NOT NULL DEFAULT now(),
    UNIQUE (source_system, source_account_number)
);

-- The current accepted state of each encounter (the latest valid encounter event).
CREATE TABLE encounters (
    encounter_id       text PRIMARY KEY REFERENCES encounter_ids,
    patient_account_id text NOT NULL REFERENCES patient_accounts,
    details            jsonb NOT NULL,          -- EncounterDetails as the contract serializes it
    closed_at          timestamptz,
    expected_charges   text[] NOT NULL DEFAULT '{}',  -- idempotency keys billing waits for
    billed_revision    integer NOT NULL DEFAULT 0,  -- last EncounterReadyToBill revision sent
    updated_at         timestamptz NOT NULL
);

-- One row per intake key ever processed, whatever the outcome: the same key twice is a no-op.
CREATE TABLE intake_keys (
    idempotency_key text PRIMARY KEY,
    encounter_id    text NOT NULL REFERENCES encounter_ids,
    kind            text NOT NULL CHECK (kind IN ('submitted', 'corrected', 'voided')),
    source_charge_id text NOT NULL,
    outcome         text NOT NULL CHECK (outcome IN ('posted', 'rejected', 'reversed')),
    charge_id       text,
    reasons         jsonb NOT NULL DEFAULT '[]'::jsonb,
    event_id        uuid NOT NULL,
    processed_at    timestamptz NOT NULL
);
CREATE INDEX intake_keys_encounter ON intake_keys (encounter_id);

-- A posted charge line: immutable once written (corrections post a new line).
CREATE TABLE charges (
    charge_id          text PRIMARY KEY,
    encounter_id       text NOT NULL REFERENCES encounter_ids,
    idempotency_key    text NOT NULL UNIQUE,
    line               jsonb NOT NULL,          -- the ChargePosted payload
    amount             numeric(12, 2) NOT NULL CHECK (amount >= 0),
    replaces_charge_id text REFERENCES charges,
    posted_at          timestamptz NOT NULL
);
CREATE INDEX charges_encounter ON charges (encounter_id);

-- The append-only ledger: a posting and, at most once, its reversal (never an update).
CREATE TABLE ledger_entries (
    entry_id        text PRIMARY KEY,
    charge_id       text NOT NULL REFERENCES charges,
    kind            text NOT NULL CHECK (kind IN ('post', 'reverse')),
    amount          numeric(12, 2) NOT NULL,     -- + for a post, - for a reversal
    idempotency_key text NOT NULL,
    reason          text,
    entered_at      timestamptz NOT NULL,
    CHECK ((kind = 'post' AND amount >= 0) OR (kind = 'reverse' AND amount <= 0))
);
CREATE UNIQUE INDEX ledger_one_reversal ON ledger_entries (charge_id) WHERE kind = 'reverse';
CREATE UNIQUE INDEX ledger_one_posting ON ledger_entries (charge_id) WHERE kind = 'post';
CREATE FUNCTION ledger_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'ledger_entries is append-only: post a reversing entry instead';
END $$;
CREATE TRIGGER ledger_append_only BEFORE UPDATE OR DELETE ON ledger_entries
    FOR EACH ROW EXECUTE FUNCTION ledger_append_only();

-- The chargemaster: CDM code -> procedure, revenue code and price. Replaced whole by a load.
CREATE TABLE chargemaster (
    cdm_code       text PRIMARY KEY,
    procedure_code text NOT NULL,
    modifiers      text[] NOT NULL DEFAULT '{}',
    revenue_code   text,
    description    text,
    unit_price     numeric(12, 2) NOT NULL CHECK (unit_price > 0),
    loaded_at      timestamptz NOT NULL
);

-- HTTP door: a request's Idempotency-Key, so a retried POST gets the same answer.
CREATE TABLE http_requests (
    idempotency_key text PRIMARY KEY,
    request_hash    text NOT NULL,
    response        jsonb NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now()
);
