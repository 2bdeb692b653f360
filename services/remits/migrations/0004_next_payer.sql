-- The payer a submission names as its next payer (ClaimSubmitted.next_payer.payer_id), so that a
-- remittance from that payer under this submission's CLP01 (a crossover the primary forwarded) is
-- posted at the next payer's rank even when its CLP02 (4 denied, 25) does not say the rank.
-- Rows stored before this have NULL: their remittances keep the submission's rank, as before.
ALTER TABLE submissions ADD COLUMN next_payer_id text;
