-- One complaint into the batch's staging table (SQLite; PostgreSQL uses COPY).
INSERT INTO stage_complaint (
    channel, source_id, received_at, received_date, district_code, category_code, description,
    latitude, longitude, reporter_pseudonym, responsible_unit, status, acknowledged_at,
    resolved_at, resolution_report, source_updated_at, batch_id, secondary_categories, satisfaction_star,
    reopen_count, unmapped_unit, unmapped_category, unmapped_status, source_id_is_surrogate, clock_skew_ms, ord
) VALUES (
    :channel, :source_id, :received_at, :received_date, :district_code, :category_code, :description,
    :latitude, :longitude, :reporter_pseudonym, :responsible_unit, :status, :acknowledged_at,
    :resolved_at, :resolution_report, :source_updated_at, :batch_id, :secondary_categories, :satisfaction_star,
    :reopen_count, :unmapped_unit, :unmapped_category, :unmapped_status, :source_id_is_surrogate, :clock_skew_ms,
    :ord
)
