-- Test-only: a table whose constraints a sender's values can break (tests/integration/test_postgres_log.py).
CREATE TABLE test_phi_rows (
    payment_id text PRIMARY KEY,
    reference  text CHECK (reference NOT LIKE 'DECLINED%')
);
