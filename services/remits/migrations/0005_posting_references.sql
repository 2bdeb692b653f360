-- A PLB recoupment or forwarding balance names its claim by the payer's claim number or our
-- submission id: look both up by index, not by scanning every posting.
CREATE INDEX postings_payer_claim_control ON postings (payer_claim_control) WHERE claim_id IS NOT NULL;
CREATE INDEX postings_reported_submission ON postings (reported_submission) WHERE claim_id IS NOT NULL;
