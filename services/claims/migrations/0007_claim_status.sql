-- Claim status requests (X12 276) and the payers' answers (277, 005010X212): one row per 276
-- inquiry about one claim. The 276 interchange itself is kept in interchanges beside the 837s
-- (same control number allocator, written to outbound/ after the commit the same way).
CREATE TABLE claim_status_requests (
    request_id       text PRIMARY KEY,
    claim_id         text NOT NULL REFERENCES claims,
    submission_id    text NOT NULL,            -- the submission asked about (276 REF*EJ)
    trace_number     text NOT NULL UNIQUE,     -- 276 TRN02, echoed by the 277: opaque
    trigger          text NOT NULL CHECK (trigger IN ('follow_up', 'on_demand')),
    state            text NOT NULL CHECK (state IN ('pending', 'sent', 'answered', 'rejected')),
                                               -- rejected: a 999/TA1 refused the 276 interchange
    interchange_control_number text,
    file_name        text,                     -- the 276 file
    queued_at        timestamptz NOT NULL,
    sent_at          timestamptz,
    answered_at      timestamptz,
    answer_file      text,                     -- the 277 file (kept in acknowledgments, kind 277)
    answer           jsonb,                    -- the 277's STCs and what claims decided
    outcome          text,
    action           text,
    next_check_on    date,                     -- pending: asked again; not found: resubmitted
    acted_at         timestamptz               -- when next_check_on was acted on (or dropped)
);
CREATE INDEX claim_status_requests_claim ON claim_status_requests (claim_id, queued_at);
CREATE INDEX claim_status_requests_pending ON claim_status_requests (queued_at) WHERE state = 'pending';
CREATE INDEX claim_status_requests_due ON claim_status_requests (next_check_on)
    WHERE state = 'answered' AND acted_at IS NULL AND next_check_on IS NOT NULL;
