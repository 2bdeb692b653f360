-- Patient estimates (PatientEstimated): an email telling the patient their estimated share of a
-- visit before any statement, a notification of its own kind.
ALTER TABLE notifications DROP CONSTRAINT notifications_kind_check;
ALTER TABLE notifications ADD CONSTRAINT notifications_kind_check
    CHECK (kind IN ('statement', 'reminder', 'digest', 'webhook', 'estimate'));
