-- Patient payments that name a statement, and refunds refused.

-- Projection of rcm.notifications.v1 NotificationSent: which balance each statement was about
-- (a patient pays "statement stm_..."; the statement id is minted by the notifications service).
CREATE TABLE statements (
    statement_id       text PRIMARY KEY,
    balance_id         text NOT NULL,
    patient_account_id text,
    notification_id    text NOT NULL,
    sent_at            timestamptz NOT NULL
);
CREATE INDEX statements_balance ON statements (balance_id);

-- The reference a payment named, and why it was not followed (the payment was then applied to
-- the oldest open balances of its own account).
ALTER TABLE payments ADD COLUMN statement_id text;
ALTER TABLE payments ADD COLUMN encounter_id text;
ALTER TABLE payments ADD COLUMN reference_ignored text;

CREATE INDEX credits_account ON credits (patient_account_id) WHERE remaining > 0;

-- PatientRefundIssued events refused (unknown credit, another account's credit, more than
-- remains): nothing was posted for them; an operator reconciles the cash by hand.
CREATE TABLE refund_rejections (
    idempotency_key    text PRIMARY KEY,
    credit_balance_id  text NOT NULL,
    patient_account_id text NOT NULL,
    amount             numeric(12, 2) NOT NULL,
    remaining          numeric(12, 2),
    reason             text NOT NULL CHECK (reason IN ('unknown_credit', 'credit_of_another_account',
                                                       'exceeds_remaining')),
    rejected_at        timestamptz NOT NULL
);
