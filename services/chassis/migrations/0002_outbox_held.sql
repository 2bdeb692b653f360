-- A row the broker refused for good (too large, invalid topic, not authorized) is held with the
-- reason instead of stopping the relay; later rows with the same topic and key wait behind it, so
-- one aggregate's events never overtake each other. `rcm outbox retry` releases it.
ALTER TABLE outbox ADD COLUMN held_at timestamptz, ADD COLUMN held_reason text;
CREATE INDEX outbox_held ON outbox (topic, message_key) WHERE held_at IS NOT NULL AND published_at IS NULL;
