-- Test-only effects table: one row per applied event, so double effects are countable.
CREATE TABLE test_effects (
    seq         bigserial,
    event_id    uuid PRIMARY KEY,
    event_type  text NOT NULL,
    subject     text NOT NULL,
    traceparent text
);
CREATE TABLE test_switches (name text PRIMARY KEY, on_ boolean NOT NULL);
