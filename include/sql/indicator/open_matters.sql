-- Matters of every channel received from <fy_start> to <cutoff> and still open at the end of
-- the cut-off day (status as of the cut-off, same rule and tie-break as figures.sql; a
-- matter with no history row yet counts as 'received'). Age: business days after the
-- received date up to and including the cut-off day (0 when received on the cut-off day).
-- No personal data: no reporter pseudonym, no description, no coordinates.
WITH window_matters AS (
    SELECT k.channel, k.source_id, k.received_date, k.district_code, k.category_code, k.responsible_unit
      FROM complaint k
     WHERE k.received_date >= :fy_start AND k.received_date <= :cutoff
),
matters_in_scope AS (SELECT channel, source_id FROM window_matters),
-- @include fragments/status_as_of_cutoff.sql
open_matters AS (
    SELECT w.channel, w.source_id, w.received_date, w.district_code, w.category_code, w.responsible_unit,
           COALESCE(r.status, 'received') AS status
      FROM window_matters w
      LEFT JOIN ranked r ON r.channel = w.channel AND r.source_id = w.source_id AND r.rn = 1
     WHERE r.is_resolved IS NULL OR r.is_resolved <> TRUE
)
SELECT o.channel, o.source_id, o.received_date,
       o.district_code, d.name_th AS district_name_th,
       o.category_code, g.name_th AS category_name_th,
       o.responsible_unit, u.name_th AS unit_name_th,
       o.status, st.name_th AS status_name_th,
       cut.business_day_seq - rc.business_day_seq AS age_business_days
  FROM open_matters o
  JOIN dim_district d ON d.district_code = o.district_code
  JOIN dim_category g ON g.category_code = o.category_code
  LEFT JOIN dim_unit u ON u.unit_code = o.responsible_unit
  JOIN dim_status st ON st.status_code = o.status
  JOIN dim_calendar rc ON rc.day = o.received_date
  JOIN dim_calendar cut ON cut.day = :cutoff
 ORDER BY age_business_days DESC, o.received_date, o.channel, o.source_id
