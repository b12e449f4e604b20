-- The status of every matter as of the cut-off, computed once per compute_indicator call into
-- two temporary tables that the indicator queries read (figures, monthly, open_matters,
-- response_on_time, report_quality): before, each of them re-ranked the fiscal year's status
-- history itself. Run on the computation's one connection (on PostgreSQL inside its one
-- REPEATABLE READ transaction); status_tables_drop.sql drops them at the end. Statements are
-- separated by lines holding only ';'.
--
-- indicator_status_change: every complaint_status_history row before <asof_before> of every
--   matter received from <fy_start> to <cutoff> (every channel), ranked by the shared rule
--   (fragments/status_as_of_cutoff.sql): rn = 1 is the status as of the cut-off; the row's
--   status holds from changed_at until next_changed_at (NULL: still holds at the cut-off).
-- indicator_matter: one row per matter received from <fy_start> to <cutoff> (every channel):
--   status       as of the cut-off, NULL when it has no history row before it ("received")
--   resolved     1 when that status is a resolved one, else 0
--   first_response_at  first history row into one of <response_statuses> before the cut-off
--   first_resolved_at  first history row into a resolved status before the cut-off
--   reopened     1 when it has a history row into one of <reopen_statuses> before the cut-off
DROP TABLE IF EXISTS indicator_matter
;
DROP TABLE IF EXISTS indicator_status_change
;
CREATE TEMPORARY TABLE indicator_status_change AS
WITH window_matters AS (
    SELECT k.channel, k.source_id
      FROM complaint k
     WHERE k.received_date >= :fy_start AND k.received_date <= :cutoff
),
matters_in_scope AS (SELECT channel, source_id FROM window_matters),
-- @include fragments/status_as_of_cutoff.sql
status_change AS (
    SELECT channel, source_id, status, is_resolved, changed_at, next_changed_at, rn FROM ranked
)
SELECT channel, source_id, status, is_resolved, changed_at, next_changed_at, rn FROM status_change
;
CREATE TEMPORARY TABLE indicator_matter AS
WITH per_matter AS (
    SELECT c.channel, c.source_id,
           MAX(CASE WHEN c.rn = 1 THEN c.status END) AS status,
           MAX(CASE WHEN c.rn = 1 AND c.is_resolved = TRUE THEN 1 ELSE 0 END) AS resolved,
           MIN(CASE WHEN c.status IN :response_statuses THEN c.changed_at END) AS first_response_at,
           MIN(CASE WHEN c.is_resolved = TRUE THEN c.changed_at END) AS first_resolved_at,
           MAX(CASE WHEN c.status IN :reopen_statuses THEN 1 ELSE 0 END) AS reopened
      FROM indicator_status_change c
     GROUP BY c.channel, c.source_id
)
SELECT k.channel, k.source_id, k.received_date, k.district_code, k.category_code, k.responsible_unit,
       k.acknowledged_at, p.status,
       COALESCE(p.resolved, 0) AS resolved,
       p.first_response_at, p.first_resolved_at,
       COALESCE(p.reopened, 0) AS reopened
  FROM complaint k
  LEFT JOIN per_matter p ON p.channel = k.channel AND p.source_id = k.source_id
 WHERE k.received_date >= :fy_start AND k.received_date <= :cutoff
;
-- PostgreSQL does not gather statistics on temporary tables by itself; the queries join them.
ANALYZE indicator_status_change
;
ANALYZE indicator_matter
