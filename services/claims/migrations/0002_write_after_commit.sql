-- The 837P file is written after the transaction that records it commits (so an acknowledgment
-- can never arrive before its submission exists); written_at stays NULL until the file is out,
-- and a restart writes any interchange still NULL again (same name, same content).
ALTER TABLE interchanges ALTER COLUMN written_at DROP NOT NULL;
