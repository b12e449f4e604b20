-- The benchmark warehouse's complaints (see generated_matters.sql).
INSERT INTO complaint (channel, source_id, received_at, received_date, district_code, category_code,
    description, latitude, longitude, reporter_pseudonym, responsible_unit, status, acknowledged_at,
    resolved_at, resolution_report, source_updated_at, batch_id)
SELECT channel, source_id, received_at, received_date, district_code, category_code, description,
       13.75, 100.5, md5(source_id), responsible_unit,
       CASE WHEN resolved_at IS NULL THEN 'in_progress' ELSE 'resolved' END,
       acknowledged_at, resolved_at, resolution_report,
       COALESCE(resolved_at, acknowledged_at + INTERVAL '1 hour'), 'bench-fill'
  FROM (
-- @include bench/generated_matters.sql
) m
