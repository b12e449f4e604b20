-- Matters received from <fy_start> to <cutoff> (Bangkok calendar dates, inclusive), split by
-- their status AS OF THE CUT-OFF: the latest complaint_status_history row with
-- changed_at < <asof_before> (the first instant after the cut-off day, naive UTC).
-- Ties at one instant: a status in <reopen_statuses> wins, then a resolved status, then
-- the lowest status code; so "received and closed in the same second" is resolved and
-- "closed and reopened in the same second" is not. A matter with no history row before
-- the cut-off is in progress.
--
-- One row per (dimension, code):
--   total    the channels in <channels> (the indicator)
--   channel  every channel in dim_channel
--   district every district in dim_district, zeros included   } over the channels
--   category every category in dim_category, zeros included   } in <channels>
--   unit     every unit in dim_unit, plus code NULL for matters without a unit (if any)
-- Percentages are integer hundredths of a percent rounded half-up (9989 = 99.89 %),
-- computed with integer arithmetic so both databases round alike; 0 when nothing was received.
WITH matters AS (
    -- indicator_matter: the matters of the window and their status as of the cut-off
    -- (status_tables.sql, computed once per computation by the shared rule).
    SELECT m.channel, m.district_code, m.category_code, m.responsible_unit, m.resolved
      FROM indicator_matter m
),
counted AS (
    SELECT * FROM matters WHERE channel IN :channels
),
figures AS (
    SELECT 0 AS dimension_order, 'total' AS dimension, NULL AS code, NULL AS name_th, NULL AS name_en,
           COUNT(*) AS received, COALESCE(SUM(m.resolved), 0) AS resolved
      FROM counted m
    UNION ALL
    SELECT 1, 'channel', c.channel_code, c.name_th, c.name_en,
           COUNT(m.channel), COALESCE(SUM(m.resolved), 0)
      FROM dim_channel c
      LEFT JOIN matters m ON m.channel = c.channel_code
     GROUP BY c.channel_code, c.name_th, c.name_en
    UNION ALL
    SELECT 2, 'district', d.district_code, d.name_th, d.name_en,
           COUNT(m.channel), COALESCE(SUM(m.resolved), 0)
      FROM dim_district d
      LEFT JOIN counted m ON m.district_code = d.district_code
     GROUP BY d.district_code, d.name_th, d.name_en
    UNION ALL
    SELECT 3, 'unit', u.unit_code, u.name_th, u.name_en,
           COUNT(m.channel), COALESCE(SUM(m.resolved), 0)
      FROM dim_unit u
      LEFT JOIN counted m ON m.responsible_unit = u.unit_code
     GROUP BY u.unit_code, u.name_th, u.name_en
    UNION ALL
    SELECT 3, 'unit', NULL, NULL, NULL,
           COUNT(*), COALESCE(SUM(m.resolved), 0)
      FROM counted m
     WHERE m.responsible_unit IS NULL
     GROUP BY m.responsible_unit
    UNION ALL
    SELECT 4, 'category', g.category_code, g.name_th, g.name_en,
           COUNT(m.channel), COALESCE(SUM(m.resolved), 0)
      FROM dim_category g
      LEFT JOIN counted m ON m.category_code = g.category_code
     GROUP BY g.category_code, g.name_th, g.name_en
)
SELECT dimension, code, name_th, name_en, received, resolved,
       received - resolved AS in_progress,
       CASE WHEN received = 0 THEN 0
            ELSE (resolved * 20000 + received) / (2 * received) END AS pct_resolved_x100,
       CASE WHEN received = 0 THEN 0
            ELSE ((received - resolved) * 20000 + received) / (2 * received) END AS pct_in_progress_x100
  FROM figures
 ORDER BY dimension_order, CASE WHEN code IS NULL THEN 1 ELSE 0 END, code
