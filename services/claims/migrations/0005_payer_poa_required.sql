-- Whether the payer wants present-on-admission indicators on inpatient 837Is (the INST-POA-REQUIRED
-- edit). Payers loaded before it keep the rule they were scrubbed by: true, Medicare's and most
-- payers' practice; `rcm payers load` sets it from payers.yaml.
ALTER TABLE payers ADD COLUMN poa_required boolean NOT NULL DEFAULT true;
