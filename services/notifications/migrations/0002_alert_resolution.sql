-- Staff alerts that a later event resolves (today: UnmatchedRemittance, resolved by
-- UnmatchedRemittanceResolved). `alert_key` names the item (remittance id / ST02 / claim index);
-- an alert resolved while still pending is skipped from its digest (`skip_reason`), one already
-- delivered gets a "resolved" line in the next digest. Alerts stored before this have no key:
-- their resolution always becomes a "resolved" line.
ALTER TABLE staff_alerts ADD COLUMN alert_key text;
ALTER TABLE staff_alerts ADD COLUMN resolved_at timestamptz;
ALTER TABLE staff_alerts ADD COLUMN skip_reason text;
CREATE INDEX staff_alerts_key ON staff_alerts (alert_key) WHERE alert_key IS NOT NULL;
