-- Patient estimates (PatientEstimated on rcm.eligibility.v1): the latest per encounter (a later
-- check's estimate replaces an earlier one), compared with the patient responsibility the
-- estimate's payer posted from its 835s (`rcm report estimates`, the account card).
CREATE TABLE estimates (
    encounter_id            text PRIMARY KEY,
    estimate_id             text NOT NULL,
    check_id                text NOT NULL,
    patient_account_id      text NOT NULL,
    coverage_rank           integer NOT NULL,
    payer_id                text NOT NULL,
    service_date            date NOT NULL,
    total_charge            numeric(12, 2) NOT NULL,
    expected_allowed        numeric(12, 2) NOT NULL,
    deductible              numeric(12, 2) NOT NULL,
    coinsurance             numeric(12, 2) NOT NULL,
    copay                   numeric(12, 2) NOT NULL,
    patient_estimate        numeric(12, 2) NOT NULL,
    out_of_pocket_remaining numeric(12, 2),
    complete                boolean NOT NULL,
    estimated_at            timestamptz NOT NULL
);
