-- Matters of every channel received from <fy_start> to <cutoff> and still open at the end of
-- the cut-off day (status as of the cut-off, same rule and tie-break as figures.sql; a
-- matter with no history row yet counts as 'received'). Age: business days after the
-- received date up to and including the cut-off day (0 when received on the cut-off day).
-- No personal data: no reporter pseudonym, no description, no coordinates.
WITH open_matters AS (
    -- indicator_matter: the matters of the window and their status as of the cut-off
    -- (status_tables.sql, computed once per computation by the shared rule).
    SELECT m.channel, m.source_id, m.received_date, m.district_code, m.category_code, m.responsible_unit,
           COALESCE(m.status, 'received') AS status
      FROM indicator_matter m
     WHERE m.resolved = 0
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
