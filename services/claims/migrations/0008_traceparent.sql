-- The trace a claim, and an eligibility check, was created in (a W3C traceparent, no PHI): the
-- background passes that move them later (the 837 batcher, the acknowledgment poller, the 271
-- answers) continue it, so an encounter is one trace from intake to its patient balance. NULL for
-- rows from before, or created outside a trace: their later events start traces of their own.
ALTER TABLE claims ADD COLUMN traceparent text;
ALTER TABLE eligibility_checks ADD COLUMN traceparent text;
