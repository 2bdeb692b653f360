-- Late-matched remittances: a claim payment held in suspense because its ClaimSubmitted had not
-- arrived yet is re-posted when it does. Each unmatched row names its suspense posting and, once
-- re-posted, the posting that took it out of suspense (exactly once: resolved_at is set once).
-- The CLP loop itself is re-read from the stored raw file (remittance_files.raw) at
-- st_control / claim_index, checked against what was posted; no second copy of the 835 is kept.
ALTER TABLE unmatched ADD COLUMN posting_id text REFERENCES postings;
ALTER TABLE unmatched ADD COLUMN total_charge numeric(12, 2);
ALTER TABLE unmatched ADD COLUMN resolved_posting_id text REFERENCES postings;
ALTER TABLE unmatched ADD COLUMN resolved_at timestamptz;
ALTER TABLE unmatched ADD COLUMN last_attempt text;   -- why the last re-post attempt failed (positions, no values)

UPDATE unmatched u SET posting_id = p.posting_id, total_charge = p.charge
  FROM postings p
 WHERE p.remittance_id = u.remittance_id AND p.claim_index = u.claim_index AND p.outcome = 'unmatched';

CREATE UNIQUE INDEX unmatched_one_resolution ON unmatched (resolved_posting_id) WHERE resolved_posting_id IS NOT NULL;
CREATE INDEX unmatched_waiting ON unmatched (reported_submission) WHERE resolved_at IS NULL;
