-- Part 1 of the rubric: did the unit respond in time? For the channels in <channels> and
-- the matters received from <fy_start> to <cutoff>:
--   response   the earliest of complaint.acknowledged_at and the first history row into one
--              of <response_statuses>, counted only if before <asof_before> (end of cut-off day)
--   deadline   the <within_business_days>-th business day AFTER the received date (the count
--              starts on the business day after receipt: received on a Friday before a long
--              weekend, the deadline is the first business day after it)
--   on_time    responded on a day whose business_day_seq <= the deadline's (a response on a
--              weekend or holiday before the deadline is in time)
--   late       responded after the deadline
--   overdue    not responded by the cut-off and the deadline is on or before the cut-off
--   not_yet_due  not responded, deadline after the cut-off: left out of the percentage
-- pct_on_time_x100 = on_time / (on_time + late + overdue), integer hundredths of a percent
-- rounded half-up; 0 when no matter is assessed.
WITH responses AS (
    -- indicator_matter: the matters of the window with their first response status before the
    -- cut-off (status_tables.sql, computed once per computation).
    SELECT m.received_date,
           CASE WHEN m.acknowledged_at IS NOT NULL AND m.acknowledged_at < :asof_before
                     AND (m.first_response_at IS NULL OR m.acknowledged_at < m.first_response_at)
                THEN m.acknowledged_at
                ELSE m.first_response_at END AS responded_at
      FROM indicator_matter m
     WHERE m.channel IN :channels
),
-- The day of the response: the calendar day starting last at or before it, if it ends after it
-- (one backward probe of the day_start_utc index per matter; a join on the range condition
-- scanned the calendar from its first day for every matter).
assessed AS (
    SELECT rc.business_day_seq + :within_business_days AS deadline_seq,
           (SELECT ac.business_day_seq
              FROM dim_calendar ac
             WHERE ac.day_start_utc <= r.responded_at AND r.responded_at < ac.day_end_utc
             ORDER BY ac.day_start_utc DESC
             LIMIT 1) AS response_seq
      FROM responses r
      JOIN dim_calendar rc ON rc.day = r.received_date
),
-- Counted per (deadline, response day) first: every reference to a column of `assessed`
-- re-evaluates its expression (the calendar probe), so the sums below read a few grouped rows.
grouped AS (
    SELECT deadline_seq, response_seq, COUNT(*) AS n
      FROM assessed
     GROUP BY deadline_seq, response_seq
),
counts AS (
    SELECT COALESCE(SUM(a.n), 0) AS received,
           COALESCE(SUM(CASE WHEN a.response_seq IS NOT NULL AND a.response_seq <= a.deadline_seq
                             THEN a.n ELSE 0 END), 0) AS on_time,
           COALESCE(SUM(CASE WHEN a.response_seq IS NOT NULL AND a.response_seq > a.deadline_seq
                             THEN a.n ELSE 0 END), 0) AS late,
           COALESCE(SUM(CASE WHEN a.response_seq IS NULL AND a.deadline_seq <= cut.business_day_seq
                             THEN a.n ELSE 0 END), 0) AS overdue,
           COALESCE(SUM(CASE WHEN a.response_seq IS NULL AND a.deadline_seq > cut.business_day_seq
                             THEN a.n ELSE 0 END), 0) AS not_yet_due
      FROM grouped a
     CROSS JOIN (SELECT business_day_seq FROM dim_calendar WHERE day = :cutoff) cut
)
SELECT received, on_time, late, overdue, not_yet_due,
       on_time + late + overdue AS assessed,
       CASE WHEN on_time + late + overdue = 0 THEN 0
            ELSE (on_time * 20000 + on_time + late + overdue) / (2 * (on_time + late + overdue))
       END AS pct_on_time_x100
  FROM counts
