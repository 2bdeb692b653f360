-- The trace a notification was queued in (a W3C traceparent, no PHI): a statement's is its
-- balance's, the encounter's. The sender hands it over in that trace, so NotificationSent ends
-- the encounter's trace. NULL for rows from before and those the background passes queue.
ALTER TABLE notifications ADD COLUMN traceparent text;
