-- The status history of the benchmark warehouse's complaints: received, acknowledged, then
-- resolved or in progress.
INSERT INTO complaint_status_history (channel, source_id, changed_at, status, note, batch_id)
SELECT channel, source_id, received_at, 'received', NULL, 'bench-fill' FROM (
-- @include bench/generated_matters.sql
) m
UNION ALL
SELECT channel, source_id, acknowledged_at, 'acknowledged', NULL, 'bench-fill' FROM (
-- @include bench/generated_matters.sql
) m
UNION ALL
SELECT channel, source_id, COALESCE(resolved_at, acknowledged_at + INTERVAL '1 hour'),
       CASE WHEN resolved_at IS NULL THEN 'in_progress' ELSE 'resolved' END, NULL, 'bench-fill'
  FROM (
-- @include bench/generated_matters.sql
) m
