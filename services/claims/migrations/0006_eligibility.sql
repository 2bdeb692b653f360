-- Eligibility checks (270/271): one row per coverage asked about an encounter's first date of
-- service. The answer is kept whole (benefits as the payer sent them) so that a later check of the
-- same payer, member and date reuses it while it is fresh, and `rcm claims show` lists it.
-- The 270 interchanges themselves are rows of `interchanges` (written after commit like the 837s).
CREATE TABLE eligibility_checks (
    check_id           text PRIMARY KEY,
    encounter_id       text NOT NULL,
    patient_account_id text NOT NULL,
    encounter_revision integer NOT NULL,
    coverage_rank      integer NOT NULL CHECK (coverage_rank BETWEEN 1 AND 3),
    payer_id           text NOT NULL,
    payer_name         text NOT NULL,
    member_id          text NOT NULL,
    service_date       date NOT NULL,
    trace_number       text NOT NULL UNIQUE,   -- TRN02 of the 270, echoed by the 271
    trigger            text NOT NULL CHECK (trigger IN ('ready_to_bill', 'on_demand')),
    state              text NOT NULL CHECK (state IN ('pending', 'sent', 'answered', 'timed_out')),
    source             text CHECK (source IN ('271', 'cache', 'timeout')),
    outcome            text CHECK (outcome IN ('active', 'inactive', 'rejected', 'no_response')),
    answer             jsonb,                  -- plan dates, coverage level, benefits, rejections, other payers
    inquiry            jsonb NOT NULL,         -- who and what the 270 asks about (names, dates of birth)
    requested_at       timestamptz NOT NULL,
    sent_at            timestamptz,
    answered_at        timestamptz,
    interchange_control_number text            -- the 270 interchange that carried it
);
CREATE INDEX eligibility_checks_encounter ON eligibility_checks (encounter_id, coverage_rank, payer_id, requested_at);
CREATE INDEX eligibility_checks_open ON eligibility_checks (state) WHERE state IN ('pending', 'sent');
CREATE INDEX eligibility_checks_cache ON eligibility_checks (payer_id, member_id, service_date, answered_at)
    WHERE source = '271';

-- A payer that does not answer 270s (or is not asked) says `eligibility: false` in payers.yaml.
ALTER TABLE payers ADD COLUMN eligibility boolean NOT NULL DEFAULT true;
