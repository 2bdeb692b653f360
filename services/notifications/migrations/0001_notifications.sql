-- The notifications service's own records: its contact projection, balances it tells about,
-- the notifications it sends (one row per message, a small state machine), staff alerts
-- waiting for a digest, and webhook subscriptions with every delivery attempt.

-- Contact details per encounter, from EncounterReadyToBill (the latest revision wins).
CREATE TABLE contacts (
    encounter_id       text PRIMARY KEY,
    patient_account_id text NOT NULL,
    revision           integer NOT NULL,
    guarantor_key      text NOT NULL,            -- sha256 of the normalized guarantor identity
    details            jsonb NOT NULL,           -- patient, guarantor, billing provider (PHI)
    updated_at         timestamptz NOT NULL
);
CREATE INDEX contacts_account ON contacts (patient_account_id);
CREATE INDEX contacts_guarantor ON contacts (guarantor_key);

-- Patient balances as the balance events describe them (the latest revision wins).
CREATE TABLE balances (
    balance_id         text PRIMARY KEY,
    patient_account_id text NOT NULL,
    encounter_id       text NOT NULL,
    revision           integer NOT NULL,
    amount_due         numeric(12,2) NOT NULL,
    due_date           date NOT NULL,
    state              text NOT NULL CHECK (state IN ('open', 'closed')),
    closed_reason      text,
    opened_at          timestamptz NOT NULL,
    body               jsonb NOT NULL,           -- the balance event (items and totals)
    updated_at         timestamptz NOT NULL
);
CREATE INDEX balances_open ON balances (state, opened_at);

-- One row per message. pending -> sending -> sent | failed | skipped (sending -> pending to retry).
CREATE TABLE notifications (
    notification_id    text PRIMARY KEY,
    idempotency_key    text NOT NULL UNIQUE,     -- one message per cause, never a duplicate
    kind               text NOT NULL CHECK (kind IN ('statement', 'reminder', 'digest', 'webhook')),
    channel            text NOT NULL,
    template           text NOT NULL,
    recipient_kind     text NOT NULL,
    related            jsonb NOT NULL,
    trigger_event_id   uuid NOT NULL,
    trigger_event_type text NOT NULL,
    subscription_id    text,
    body               jsonb NOT NULL DEFAULT '{}'::jsonb,  -- what the sender needs (ids; webhook body)
    state              text NOT NULL CHECK (state IN ('pending', 'sending', 'sent', 'failed', 'skipped')),
    reason             text,
    attempts           integer NOT NULL DEFAULT 0,
    next_attempt_at    timestamptz NOT NULL,
    created_at         timestamptz NOT NULL,
    sent_at            timestamptz
);
CREATE INDEX notifications_due ON notifications (state, next_attempt_at);

-- Staff alerts waiting for (or included in) a digest. Ids only.
CREATE TABLE staff_alerts (
    event_id    uuid PRIMARY KEY,
    event_type  text NOT NULL,
    summary     jsonb NOT NULL,
    created_at  timestamptz NOT NULL,
    digest_id   text
);
CREATE INDEX staff_alerts_open ON staff_alerts (digest_id) WHERE digest_id IS NULL;

CREATE TABLE webhook_subscriptions (
    subscription_id      text PRIMARY KEY,
    url                  text NOT NULL,
    event_types          text[] NOT NULL,
    secret_env           text NOT NULL,          -- the NAME of the environment variable holding the secret
    enabled              boolean NOT NULL DEFAULT true,
    consecutive_failures integer NOT NULL DEFAULT 0,
    created_at           timestamptz NOT NULL,
    disabled_at          timestamptz,
    removed_at           timestamptz
);

-- Every delivery attempt (SMTP or HTTP), kept for the operator.
CREATE TABLE delivery_attempts (
    id              bigserial PRIMARY KEY,
    notification_id text NOT NULL REFERENCES notifications,
    attempt         integer NOT NULL,
    outcome         text NOT NULL,               -- sent, or an error class
    status_code     integer,
    attempted_at    timestamptz NOT NULL
);
CREATE INDEX delivery_attempts_notification ON delivery_attempts (notification_id);
