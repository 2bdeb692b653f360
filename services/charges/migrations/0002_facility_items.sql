-- Issue 18, institutional claims: a facility item that a revenue code alone describes (room and
-- board, pharmacy, supplies) has no procedure code; it can only be billed on the institutional
-- claim. Every item still names something billable: a procedure code, a revenue code, or both.
ALTER TABLE chargemaster ALTER COLUMN procedure_code DROP NOT NULL;
ALTER TABLE chargemaster ADD CONSTRAINT chargemaster_item_code
    CHECK (procedure_code IS NOT NULL OR revenue_code IS NOT NULL);
