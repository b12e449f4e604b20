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
-- Each history row of a window matter as a span: its status holds from changed_at until the
-- matter's next change (span_end, NULL for the latest). Rows are ordered by time, then by the
-- tie-break of figures.sql reversed (a reopen status last, then a resolved one, then the highest
-- code), so of several changes at one instant only the winner gets a non-empty span. A matter is
-- resolved as of a month's end (the latest change before ends_at) when a resolved span holds
-- there: span_start < ends_at <= span_end. One sort of the history, however many months.
spans AS (
    SELECT w.received_date, s.is_resolved, h.changed_at AS span_start,
           LEAD(h.changed_at) OVER (
               PARTITION BY h.channel, h.source_id
               ORDER BY h.changed_at,
                        CASE WHEN h.status IN :reopen_statuses THEN 2
                             WHEN s.is_resolved = TRUE THEN 1
                             ELSE 0 END,
                        h.status DESC
           ) AS span_end
      FROM window_matters w
      JOIN complaint_status_history h ON h.channel = w.channel AND h.source_id = w.source_id
      JOIN dim_status s ON s.status_code = h.status
),
resolved_spans AS (
    SELECT received_date, span_start, span_end FROM spans WHERE is_resolved = TRUE
),
first_resolved AS (
    SELECT h.channel, h.source_id, MIN(h.changed_at) AS resolved_at
      FROM complaint_status_history h
      JOIN window_matters w ON w.channel = h.channel AND w.source_id = h.source_id
      JOIN dim_status s ON s.status_code = h.status
     WHERE s.is_resolved = TRUE
     GROUP BY h.channel, h.source_id
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
