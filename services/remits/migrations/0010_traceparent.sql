-- The trace each ClaimSubmitted came in (a W3C traceparent, no PHI; the encounter's trace since
-- claims continues it): the 835 poller posts the claim's payment, and restates its encounter's
-- patient balance, in that trace, so an encounter is one trace from intake to its balance. NULL
-- for submissions from before: their payments stay in the 835 file's trace.
ALTER TABLE submissions ADD COLUMN traceparent text;
