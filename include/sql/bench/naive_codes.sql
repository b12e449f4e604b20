-- The codes of the naive quarterly reference's categorical columns, and which statuses are resolved.
SELECT 'channel' AS kind, channel_code AS code, 0 AS is_resolved FROM dim_channel
UNION ALL SELECT 'district', district_code, 0 FROM dim_district
UNION ALL SELECT 'category', category_code, 0 FROM dim_category
UNION ALL SELECT 'unit', unit_code, 0 FROM dim_unit
UNION ALL SELECT 'status', status_code, CASE WHEN is_resolved THEN 1 ELSE 0 END FROM dim_status
