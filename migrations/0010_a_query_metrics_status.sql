-- The quality metrics are computed after the answer is sent (services/api/metrics-queue.ts):
-- 'pending' until they are stored, 'done' with them, 'skipped' when the service was too busy
-- (sampled out under load) or they failed. NULL on rows logged before this column existed.
ALTER TABLE query_log ADD COLUMN metrics_status text;
