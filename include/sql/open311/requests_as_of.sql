-- Every matter of every channel received from <fy_start> to <cutoff>, as an Open311 GeoReport v2
-- service request as of the end of the cut-off day: its status by the indicator's rule (the
-- shared fragment; no history row yet = 'received'), and its last change before then.
-- No personal data: no reporter pseudonym; free text is masked again by the exporter.
WITH window_matters AS (
    SELECT k.channel, k.source_id, k.received_at, k.received_date, k.district_code, k.category_code,
           k.responsible_unit, k.description, k.latitude, k.longitude, k.resolution_report
      FROM complaint k
     WHERE k.received_date >= :fy_start AND k.received_date <= :cutoff
),
matters_in_scope AS (SELECT channel, source_id FROM window_matters),
-- @include fragments/status_as_of_cutoff.sql
last_change AS (
    SELECT h.channel, h.source_id, MAX(h.changed_at) AS changed_at
      FROM complaint_status_history h
      JOIN matters_in_scope m ON m.channel = h.channel AND m.source_id = h.source_id
     WHERE h.changed_at < :asof_before
     GROUP BY h.channel, h.source_id
)
SELECT w.channel, w.source_id, w.received_at, w.received_date,
       d.name_th AS district_name_th,
       w.category_code, g.name_th AS category_name_th,
       u.name_th AS unit_name_th,
       w.description, w.latitude, w.longitude, w.resolution_report,
       COALESCE(r.status, 'received') AS status,
       COALESCE(r.is_resolved, FALSE) AS is_resolved,
       COALESCE(c.changed_at, w.received_at) AS updated_at
  FROM window_matters w
  JOIN dim_district d ON d.district_code = w.district_code
  JOIN dim_category g ON g.category_code = w.category_code
  LEFT JOIN dim_unit u ON u.unit_code = w.responsible_unit
  LEFT JOIN ranked r ON r.channel = w.channel AND r.source_id = w.source_id AND r.rn = 1
  LEFT JOIN last_change c ON c.channel = w.channel AND c.source_id = w.source_id
 ORDER BY w.received_date, w.received_at, w.channel, w.source_id
