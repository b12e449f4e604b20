-- The status of every matter as of the cut-off, computed once per compute_indicator call into
-- two temporary tables that the indicator queries read (figures, monthly, open_matters,
-- response_on_time, report_quality): before, each of them re-ranked the fiscal year's status
-- history itself. Run on the computation's one connection (on PostgreSQL inside its one
-- REPEATABLE READ transaction); status_tables_drop.sql drops them at the end. Statements are
-- separated by lines holding only ';'.
--
-- indicator_status_change: the complaint_status_history rows before <asof_before> of every
--   matter received from <fy_start> to <cutoff> (every channel), ranked by the shared rule
--   (fragments/status_as_of_cutoff.sql), that a query reads: the latest (rn = 1, the status as
--   of the cut-off) and every change into a resolved status (monthly.sql's spans); the row's
--   status holds from changed_at until next_changed_at (NULL: still holds at the cut-off);
--   every row of a matter also carries its first_response_at, first_resolved_at and reopened.
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
-- The per-matter facts are window aggregates over the ranking's partition, so the one sort of
-- the history serves them all (a GROUP BY would hash or sort the rows again).
status_change AS (
    SELECT channel, source_id, status, is_resolved, changed_at, next_changed_at, rn,
           MIN(CASE WHEN status IN :response_statuses THEN changed_at END)
               OVER (PARTITION BY channel, source_id) AS first_response_at,
           MIN(CASE WHEN is_resolved = TRUE THEN changed_at END)
               OVER (PARTITION BY channel, source_id) AS first_resolved_at,
           MAX(CASE WHEN status IN :reopen_statuses THEN 1 ELSE 0 END)
               OVER (PARTITION BY channel, source_id) AS reopened
      FROM ranked
)
SELECT channel, source_id, status, is_resolved, changed_at, next_changed_at, rn,
       first_response_at, first_resolved_at, reopened
  FROM status_change
 WHERE rn = 1 OR is_resolved = TRUE
;
CREATE TEMPORARY TABLE indicator_matter AS
SELECT k.channel, k.source_id, k.received_date, k.district_code, k.category_code, k.responsible_unit,
       k.acknowledged_at, c.status,
       CASE WHEN c.is_resolved = TRUE THEN 1 ELSE 0 END AS resolved,
       c.first_response_at, c.first_resolved_at,
       COALESCE(c.reopened, 0) AS reopened
  FROM complaint k
  LEFT JOIN indicator_status_change c ON c.channel = k.channel AND c.source_id = k.source_id AND c.rn = 1
 WHERE k.received_date >= :fy_start AND k.received_date <= :cutoff
;
-- PostgreSQL does not gather statistics on temporary tables by itself; the queries join them.
ANALYZE indicator_status_change
;
ANALYZE indicator_matter
