-- Move the staged complaints of a batch into the warehouse (stage_tables.sql). An older
-- snapshot never overwrites a newer one, so replaying an old file leaves the row as it is; an
-- equally recent one (a corrected re-delivery) wins. A source id staged twice counts once:
-- its most recent row, the later one on a tie (as if the rows were upserted one by one).
-- One set-based statement: the primary key is probed once per row (see docs/benchmarks.md).
INSERT INTO complaint (
    channel, source_id, received_at, received_date, district_code, category_code, description,
    latitude, longitude, reporter_pseudonym, responsible_unit, status, acknowledged_at,
    resolved_at, resolution_report, source_updated_at, batch_id, secondary_categories, satisfaction_star,
    reopen_count, unmapped_unit, unmapped_category, unmapped_status, source_id_is_surrogate, clock_skew_ms
)
SELECT channel, source_id, received_at, received_date, district_code, category_code, description,
       latitude, longitude, reporter_pseudonym, responsible_unit, status, acknowledged_at,
       resolved_at, resolution_report, source_updated_at, batch_id, secondary_categories, satisfaction_star,
       reopen_count, unmapped_unit, unmapped_category, unmapped_status, source_id_is_surrogate, clock_skew_ms
  FROM (
        SELECT s.*, ROW_NUMBER() OVER (
                   PARTITION BY channel, source_id ORDER BY source_updated_at DESC, ord DESC
               ) AS pick
          FROM stage_complaint s
       ) staged
 WHERE pick = 1
ON CONFLICT (channel, source_id) DO UPDATE SET
    received_at = excluded.received_at,
    received_date = excluded.received_date,
    district_code = excluded.district_code,
    category_code = excluded.category_code,
    description = excluded.description,
    latitude = excluded.latitude,
    longitude = excluded.longitude,
    reporter_pseudonym = excluded.reporter_pseudonym,
    responsible_unit = excluded.responsible_unit,
    status = excluded.status,
    acknowledged_at = excluded.acknowledged_at,
    resolved_at = excluded.resolved_at,
    resolution_report = excluded.resolution_report,
    source_updated_at = excluded.source_updated_at,
    batch_id = excluded.batch_id,
    secondary_categories = excluded.secondary_categories,
    satisfaction_star = excluded.satisfaction_star,
    reopen_count = excluded.reopen_count,
    unmapped_unit = excluded.unmapped_unit,
    unmapped_category = excluded.unmapped_category,
    unmapped_status = excluded.unmapped_status,
    source_id_is_surrogate = excluded.source_id_is_surrogate,
    clock_skew_ms = excluded.clock_skew_ms
WHERE excluded.source_updated_at >= complaint.source_updated_at
