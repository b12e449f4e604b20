-- Part 2 of the rubric: fixed, and reported so the complainant gets an answer. For the
-- channels in <channels> and the matters received from <fy_start> to <cutoff>, a matter
-- PASSES when, as of the cut-off (status rule and tie-break as in figures.sql):
--   * it is resolved;
--   * its resolution report, with spaces, dots, line breaks and tabs removed and in lower
--     case, is not empty, is not one of <boilerplate_reports> (normalised the same way by
--     the caller) and has at least <min_report_chars> characters;
--   * when <reopened_fails> = 1, it has no history row into <reopen_statuses> before the cut-off;
--   * when <reopen_count_fails> = 1, its source does not count it as reopened (reopen_count > 0,
--     e.g. Traffy Fondue's count_reopen; NULL where a source has no count).
-- The report text and the reopen count are the latest the warehouse holds (it keeps no
-- history of either, and the count has no date).
-- Resolved matters that fail are counted by their first failing reason, in the order above.
-- pct_passed_x100 = passed / received, integer hundredths of a percent rounded half-up.
WITH window_matters AS (
    -- indicator_matter: the matters of the window, their status as of the cut-off and whether
    -- they were reopened before it (status_tables.sql, computed once per computation); the
    -- report text and the reopen count are the complaint's.
    SELECT m.resolved, m.reopened, k.reopen_count,
           LOWER(REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(
               k.resolution_report, ' ', ''), '.', ''), :lf, ''), :cr, ''), :tab, '')) AS report_text
      FROM indicator_matter m
      JOIN complaint k ON k.channel = m.channel AND k.source_id = m.source_id
     WHERE m.channel IN :channels
),
assessed AS (
    SELECT w.resolved,
           CASE WHEN w.report_text IS NULL OR w.report_text = '' THEN 'missing'
                WHEN w.report_text IN :boilerplate_reports THEN 'boilerplate'
                WHEN LENGTH(w.report_text) < :min_report_chars THEN 'too_short'
                ELSE 'answers' END AS report,
           CASE WHEN w.reopened = 1 AND :reopened_fails = 1 THEN 1 ELSE 0 END AS reopened,
           CASE WHEN w.reopen_count > 0 AND :reopen_count_fails = 1 THEN 1 ELSE 0 END AS reopen_counted
      FROM window_matters w
),
-- Counted per combination first: every reference to a column of `assessed` re-evaluates its
-- expression (the normalised report text), so the sums below read a handful of grouped rows.
grouped AS (
    SELECT resolved, report, reopened, reopen_counted, COUNT(*) AS n
      FROM assessed
     GROUP BY resolved, report, reopened, reopen_counted
),
counts AS (
    SELECT COALESCE(SUM(n), 0) AS received,
           COALESCE(SUM(resolved * n), 0) AS resolved,
           COALESCE(SUM(CASE WHEN resolved = 1 AND report = 'answers' AND reopened = 0 AND reopen_counted = 0
                             THEN n ELSE 0 END), 0) AS passed,
           COALESCE(SUM(CASE WHEN resolved = 1 AND report = 'missing' THEN n ELSE 0 END), 0) AS report_missing,
           COALESCE(SUM(CASE WHEN resolved = 1 AND report = 'boilerplate' THEN n ELSE 0 END), 0)
               AS report_boilerplate,
           COALESCE(SUM(CASE WHEN resolved = 1 AND report = 'too_short' THEN n ELSE 0 END), 0) AS report_too_short,
           COALESCE(SUM(CASE WHEN resolved = 1 AND report = 'answers' AND reopened = 1 THEN n ELSE 0 END), 0)
               AS reopened,
           COALESCE(SUM(CASE WHEN resolved = 1 AND report = 'answers' AND reopened = 0 AND reopen_counted = 1
                             THEN n ELSE 0 END), 0) AS reopen_counted
      FROM grouped
)
SELECT received, resolved, passed, report_missing, report_boilerplate, report_too_short, reopened, reopen_counted,
       CASE WHEN received = 0 THEN 0 ELSE (passed * 20000 + received) / (2 * received) END AS pct_passed_x100
  FROM counts
