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
-- indicator_matter and indicator_status_change (status_tables.sql, computed once per
-- computation): the matters of the window, their first resolved change, and every change before
-- the cut-off ranked by the rule of figures.sql. A change's status holds from changed_at until
-- next_changed_at (NULL: it still holds at the cut-off; of several changes at one instant only
-- the winner gets a non-empty span). A matter is resolved as of a month's end (the latest
-- change before ends_at, never after the cut-off) when a resolved span holds there:
-- span_start < ends_at <= span_end.
window_matters AS (
    SELECT m.channel, m.source_id, m.received_date, m.first_resolved_at
      FROM indicator_matter m
     WHERE m.channel IN :channels
),
resolved_spans AS (
    SELECT w.received_date, c.changed_at AS span_start, c.next_changed_at AS span_end
      FROM window_matters w
      JOIN indicator_status_change c ON c.channel = w.channel AND c.source_id = w.source_id
     WHERE c.is_resolved = TRUE
),
first_resolved AS (
    SELECT w.first_resolved_at AS resolved_at FROM window_matters w WHERE w.first_resolved_at IS NOT NULL
),
-- Per month, by joins rather than correlated subqueries: a CTE used inside a subquery that
-- runs once per month would be computed once per month.
resolved_in_month AS (
    SELECT m.month_start, COUNT(f.resolved_at) AS resolved
      FROM months m
      LEFT JOIN first_resolved f ON f.resolved_at >= m.starts_at AND f.resolved_at < m.ends_at
     GROUP BY m.month_start
),
resolved_at_month_end AS (
    SELECT m.month_start, COUNT(r.span_start) AS cumulative_resolved
      FROM months m
      LEFT JOIN resolved_spans r
        ON r.received_date <= m.last_day AND r.span_start < m.ends_at
       AND (r.span_end IS NULL OR r.span_end >= m.ends_at)
     GROUP BY m.month_start
),
monthly AS (
    SELECT m.month_start,
           (SELECT COUNT(*) FROM window_matters w
             WHERE w.received_date >= m.first_day AND w.received_date <= m.last_day) AS received,
           f.resolved,
           (SELECT COUNT(*) FROM window_matters w
             WHERE w.received_date <= m.last_day) AS cumulative_received,
           e.cumulative_resolved
      FROM months m
      JOIN resolved_in_month f ON f.month_start = m.month_start
      JOIN resolved_at_month_end e ON e.month_start = m.month_start
)
SELECT month_start, received, resolved, cumulative_received, cumulative_resolved,
       CASE WHEN cumulative_received = 0 THEN 0
            ELSE (cumulative_resolved * 20000 + cumulative_received) / (2 * cumulative_received)
       END AS cumulative_pct_resolved_x100
  FROM monthly
 ORDER BY month_start
