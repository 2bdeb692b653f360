-- The claims service's own records: payer master, fee schedules, its projection of charges,
-- claims with their submissions and history, submitted interchanges and acknowledgments.

CREATE TABLE payers (
    payer_id               text PRIMARY KEY,
    name                   text NOT NULL,
    claim_filing_indicator text NOT NULL,
    bill_hold_days         integer NOT NULL,
    timely_filing_days     integer NOT NULL,
    follow_up_days         integer NOT NULL,
    fee_schedule           text,
    loaded_at              timestamptz NOT NULL
);

CREATE TABLE fee_schedule (
    payer_id        text NOT NULL,
    procedure_code  text NOT NULL,
    modifier        text NOT NULL DEFAULT '',
    allowed_amount  numeric(12,2) NOT NULL,
    effective_date  date NOT NULL,
    PRIMARY KEY (payer_id, procedure_code, modifier, effective_date)
);

-- Our projection of the charges topic: posted lines and the latest encounter release.
CREATE TABLE charges (
    charge_id    text PRIMARY KEY,
    encounter_id text NOT NULL,
    line         jsonb NOT NULL,      -- the ChargePosted payload
    reversed     boolean NOT NULL DEFAULT false
);
CREATE INDEX charges_encounter ON charges (encounter_id);

CREATE TABLE encounters (
    encounter_id       text PRIMARY KEY,
    patient_account_id text NOT NULL,
    revision           integer NOT NULL,
    ready              jsonb NOT NULL,     -- the EncounterReadyToBill payload
    released_at        timestamptz NOT NULL,
    assemble_after     timestamptz NOT NULL,  -- release + the payer's bill hold
    assembled_revision integer NOT NULL DEFAULT 0
);

-- One row per claim (original, secondary, replacement, void); state is the state machine's.
CREATE TABLE claims (
    claim_id              text PRIMARY KEY,
    claim_family_id       text NOT NULL,
    encounter_id          text NOT NULL,
    patient_account_id    text NOT NULL,
    payer_id              text NOT NULL,
    payer_name            text NOT NULL,
    coverage_rank         integer NOT NULL,
    origin                text NOT NULL,
    origin_claim_id       text,
    frequency             text NOT NULL,
    state                 text NOT NULL,
    encounter_revision    integer NOT NULL,
    charge_ids            text[] NOT NULL,
    total_charge          numeric(12,2) NOT NULL,
    doc                   jsonb NOT NULL,      -- what the 837P is built from (domain ClaimDraft)
    edits                 jsonb NOT NULL DEFAULT '[]'::jsonb,
    submission_id         text,                -- the current submission
    payer_claim_control_number text,
    total_paid            numeric(12,2) NOT NULL DEFAULT 0,
    adjudication          jsonb,               -- the last remittance event applied
    follow_up_on          date,
    timely_filing_deadline date,
    pending_doc           jsonb,               -- a newer revision waiting for adjudication (then replaced)
    created_at            timestamptz NOT NULL,
    updated_at            timestamptz NOT NULL
);
CREATE INDEX claims_family ON claims (claim_family_id);
CREATE INDEX claims_encounter ON claims (encounter_id);
CREATE INDEX claims_state ON claims (state);

CREATE TABLE submissions (
    submission_id    text PRIMARY KEY,
    claim_id         text NOT NULL REFERENCES claims,
    frequency        text NOT NULL,
    status           text NOT NULL CHECK (status IN ('pending', 'sent')),
    interchange_control_number text,
    group_control_number text,
    transaction_set_control_number text,
    file_name        text,
    queued_at        timestamptz NOT NULL,
    sent_at          timestamptz
);
CREATE INDEX submissions_pending ON submissions (queued_at) WHERE status = 'pending';
CREATE INDEX submissions_control ON submissions (group_control_number, transaction_set_control_number);

-- Every transition of every claim, and every refused one.
CREATE TABLE claim_history (
    id          bigserial PRIMARY KEY,
    claim_id    text NOT NULL,
    claim_family_id text NOT NULL,
    trigger     text NOT NULL,
    from_state  text,
    to_state    text,
    event_type  text,
    refused     boolean NOT NULL DEFAULT false,
    detail      jsonb NOT NULL DEFAULT '{}'::jsonb,
    at          timestamptz NOT NULL
);
CREATE INDEX claim_history_family ON claim_history (claim_family_id, id);

-- X12 control numbers (ISA13 = GS06) never repeat.
CREATE SEQUENCE x12_control_number MINVALUE 1 MAXVALUE 999999999 START 1;

-- Each submitted 837P file, for audit.
CREATE TABLE interchanges (
    interchange_control_number text PRIMARY KEY,
    group_control_number text NOT NULL,
    file_name    text NOT NULL,
    sha256       text NOT NULL,
    claim_count  integer NOT NULL,
    content      bytea NOT NULL,
    written_at   timestamptz NOT NULL
);

-- Acknowledgments read from inbound/acks (999, 277CA), matched or not: never dropped.
CREATE TABLE acknowledgments (
    id           bigserial PRIMARY KEY,
    file_name    text NOT NULL,
    sha256       text NOT NULL,
    kind         text NOT NULL,          -- 999, 277CA, unreadable
    reference    text NOT NULL,          -- group/ST control number or TRN02 acknowledged
    outcome      text NOT NULL,
    matched_submission_id text,
    flagged      boolean NOT NULL DEFAULT false,
    detail       jsonb NOT NULL DEFAULT '{}'::jsonb,
    received_at  timestamptz NOT NULL
);
CREATE INDEX acknowledgments_flagged ON acknowledgments (id) WHERE flagged;
