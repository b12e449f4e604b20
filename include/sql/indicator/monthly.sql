-- Month by month from <fy_start> to <cutoff>, for the channels in <channels>. Months are
-- dim_calendar's Bangkok months; the last one ends at the cut-off.
--   received             matters received in the month
--   resolved             matters of the window whose FIRST resolved status falls in the
--                        month (Bangkok time), whatever month they were received in
--   cumulative_received  matters received from <fy_start> to the month's last day (or the cut-off)
--   cumulative_resolved  of those, resolved as of the end of that day (status as of that
--                        instant, same rule and tie-break as figures.sql)
-- Percentages: integer hundredths of a percent, rounded half-up (see figures.sql).
WITH months AS (
    SELECT c.month_start, MIN(c.day) AS first_day, MAX(c.day) AS last_day,
           MIN(c.day_start_utc) AS starts_at, MAX(c.day_end_utc) AS ends_at
      FROM dim_calendar c
     WHERE c.day >= :fy_start AND c.day <= :cutoff
     GROUP BY c.month_start
),
window_matters AS (
    SELECT k.channel, k.source_id, k.received_date
      FROM complaint k
     WHERE k.channel IN :channels AND k.received_date >= :fy_start AND k.received_date <= :cutoff
),
ranked AS (
    SELECT m.month_start, h.channel, h.source_id, s.is_resolved,
           ROW_NUMBER() OVER (
               PARTITION BY m.month_start, h.channel, h.source_id
               ORDER BY h.changed_at DESC,
                        CASE WHEN h.status IN :reopen_statuses THEN 2
                             WHEN s.is_resolved = TRUE THEN 1
                             ELSE 0 END DESC,
                        h.status
           ) AS rn
      FROM months m
      JOIN window_matters w ON w.received_date <= m.last_day
      JOIN complaint_status_history h
        ON h.channel = w.channel AND h.source_id = w.source_id AND h.changed_at < m.ends_at
      JOIN dim_status s ON s.status_code = h.status
),
first_resolved AS (
    SELECT h.channel, h.source_id, MIN(h.changed_at) AS resolved_at
      FROM complaint_status_history h
      JOIN window_matters w ON w.channel = h.channel AND w.source_id = h.source_id
      JOIN dim_status s ON s.status_code = h.status
     WHERE s.is_resolved = TRUE
     GROUP BY h.channel, h.source_id
),
monthly AS (
    SELECT m.month_start,
           (SELECT COUNT(*) FROM window_matters w
             WHERE w.received_date >= m.first_day AND w.received_date <= m.last_day) AS received,
           (SELECT COUNT(*) FROM first_resolved f
             WHERE f.resolved_at >= m.starts_at AND f.resolved_at < m.ends_at) AS resolved,
           (SELECT COUNT(*) FROM window_matters w
             WHERE w.received_date <= m.last_day) AS cumulative_received,
           (SELECT COUNT(*) FROM ranked r
             WHERE r.month_start = m.month_start AND r.rn = 1 AND r.is_resolved = TRUE) AS cumulative_resolved
      FROM months m
)
SELECT month_start, received, resolved, cumulative_received, cumulative_resolved,
       CASE WHEN cumulative_received = 0 THEN 0
            ELSE (cumulative_resolved * 20000 + cumulative_received) / (2 * cumulative_received)
       END AS cumulative_pct_resolved_x100
  FROM monthly
 ORDER BY month_start
