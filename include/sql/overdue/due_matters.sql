-- The daily overdue digest: matters of every channel received on or before <as_of> and still
-- open at the end of <as_of> (status as of <asof_before>, the first instant after <as_of> in
-- Bangkok; same rule and tie-break as include/sql/indicator/open_matters.sql; a matter with no
-- history row yet counts as 'received'), with their two time limits from the rubric:
--   acknowledgement  the <ack_within>-th business day after the received date, as Part 1 of the
--                    indicator counts it; met once the unit has responded (complaint.acknowledged_at
--                    or a history row into one of <response_statuses>, before <asof_before>)
--   resolution       the <resolution_within>-th business day after the received date
-- A limit is due by the end of its due day, so at the end of <as_of> it is
--   'breached'  when due_seq <= seq(as_of): the due day has ended (on a weekend or holiday
--               seq(as_of) is the previous business day's number, so this still holds)
--   'due_soon'  when the due day is one of the next <look_ahead> business days after <as_of>
--   'later'     otherwise; 'done' for an acknowledgement already given.
-- *_days_left = due_seq - seq(as_of): business days left after <as_of> (1 = the next business
-- day; 0 or less = breached, by that many business days).
-- Only matters with a breached or due_soon limit are returned, grouped by district and
-- responsible unit (NULL unit = no unit assigned), most urgent first, each row carrying its
-- group's counts (window sums, so the groups are counted here and not in Python).
-- in_indicator: the matter counts in <as_of>'s fiscal-year indicator (channel in
-- <indicator_channels>, received on or after <fy_start>).
-- No personal data: no reporter pseudonym, no description, no resolution report; the
-- coordinates are kept (where the problem is, not who reported it).
WITH candidates AS (
    SELECT k.channel, k.source_id, k.received_date, k.district_code, k.category_code, k.responsible_unit,
           k.latitude, k.longitude, k.acknowledged_at
      FROM complaint k
     WHERE k.received_date <= :as_of
),
matters_in_scope AS (SELECT channel, source_id FROM candidates),
-- @include fragments/status_as_of_cutoff.sql
open_matters AS (
    SELECT c.channel, c.source_id, c.received_date, c.district_code, c.category_code, c.responsible_unit,
           c.latitude, c.longitude, c.acknowledged_at,
           COALESCE(r.status, 'received') AS status
      FROM candidates c
      LEFT JOIN ranked r ON r.channel = c.channel AND r.source_id = c.source_id AND r.rn = 1
     WHERE r.is_resolved IS NULL OR r.is_resolved <> TRUE
),
first_response AS (
    SELECT h.channel, h.source_id, MIN(h.changed_at) AS responded_at
      FROM complaint_status_history h
      JOIN open_matters o ON o.channel = h.channel AND o.source_id = h.source_id
     WHERE h.status IN :response_statuses AND h.changed_at < :asof_before
     GROUP BY h.channel, h.source_id
),
limits AS (
    SELECT o.channel, o.source_id, o.received_date, o.district_code, o.category_code, o.responsible_unit,
           o.latitude, o.longitude, o.status,
           CASE WHEN (o.acknowledged_at IS NOT NULL AND o.acknowledged_at < :asof_before)
                     OR f.responded_at IS NOT NULL
                THEN 1 ELSE 0 END AS acknowledged,
           cut.business_day_seq AS asof_seq,
           rc.business_day_seq AS received_seq,
           rc.business_day_seq + :ack_within AS ack_due_seq,
           rc.business_day_seq + :resolution_within AS res_due_seq
      FROM open_matters o
      LEFT JOIN first_response f ON f.channel = o.channel AND f.source_id = o.source_id
      JOIN dim_calendar rc ON rc.day = o.received_date
     CROSS JOIN (SELECT business_day_seq FROM dim_calendar WHERE day = :as_of) cut
),
assessed AS (
    SELECT l.channel, l.source_id, l.received_date, l.district_code, l.category_code, l.responsible_unit,
           l.latitude, l.longitude, l.status, l.acknowledged, l.asof_seq, l.received_seq,
           l.ack_due_seq, l.res_due_seq,
           CASE WHEN l.acknowledged = 1 THEN 'done'
                WHEN l.ack_due_seq <= l.asof_seq THEN 'breached'
                WHEN l.ack_due_seq <= l.asof_seq + :look_ahead THEN 'due_soon'
                ELSE 'later' END AS ack_state,
           CASE WHEN l.res_due_seq <= l.asof_seq THEN 'breached'
                WHEN l.res_due_seq <= l.asof_seq + :look_ahead THEN 'due_soon'
                ELSE 'later' END AS res_state
      FROM limits l
),
flagged AS (
    SELECT a.*
      FROM assessed a
     WHERE a.ack_state IN ('breached', 'due_soon') OR a.res_state IN ('breached', 'due_soon')
)
SELECT x.district_code, d.name_th AS district_name_th,
       x.responsible_unit, u.name_th AS unit_name_th,
       x.channel, ch.name_th AS channel_name_th, x.source_id, x.received_date,
       x.category_code, g.name_th AS category_name_th,
       x.status, st.name_th AS status_name_th,
       x.latitude, x.longitude,
       x.asof_seq - x.received_seq AS age_business_days,
       x.acknowledged,
       ad.day AS ack_due_date, x.ack_due_seq - x.asof_seq AS ack_days_left, x.ack_state,
       rd.day AS res_due_date, x.res_due_seq - x.asof_seq AS res_days_left, x.res_state,
       CASE WHEN x.channel IN :indicator_channels AND x.received_date >= :fy_start THEN 1 ELSE 0 END AS in_indicator,
       COUNT(*) OVER unit_group AS unit_matters,
       SUM(CASE WHEN x.ack_state = 'breached' THEN 1 ELSE 0 END) OVER unit_group AS unit_ack_breached,
       SUM(CASE WHEN x.ack_state = 'due_soon' THEN 1 ELSE 0 END) OVER unit_group AS unit_ack_due_soon,
       SUM(CASE WHEN x.res_state = 'breached' THEN 1 ELSE 0 END) OVER unit_group AS unit_res_breached,
       SUM(CASE WHEN x.res_state = 'due_soon' THEN 1 ELSE 0 END) OVER unit_group AS unit_res_due_soon
  FROM flagged x
  JOIN dim_district d ON d.district_code = x.district_code
  LEFT JOIN dim_unit u ON u.unit_code = x.responsible_unit
  JOIN dim_channel ch ON ch.channel_code = x.channel
  JOIN dim_category g ON g.category_code = x.category_code
  JOIN dim_status st ON st.status_code = x.status
  LEFT JOIN dim_calendar ad ON ad.business_day_seq = x.ack_due_seq AND ad.is_business_day = TRUE
  LEFT JOIN dim_calendar rd ON rd.business_day_seq = x.res_due_seq AND rd.is_business_day = TRUE
WINDOW unit_group AS (PARTITION BY x.district_code, x.responsible_unit)
 ORDER BY x.district_code,
          CASE WHEN x.responsible_unit IS NULL THEN 1 ELSE 0 END, x.responsible_unit,
          CASE WHEN x.acknowledged = 0 THEN x.ack_due_seq ELSE x.res_due_seq END,
          x.received_date, x.channel, x.source_id
