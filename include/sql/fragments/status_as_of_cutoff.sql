-- The status of every matter of `matters_in_scope` as of the cut-off: its latest
-- complaint_status_history row with changed_at < <asof_before> (the first instant after the
-- cut-off day, naive UTC) is the one with rn = 1. Ties at one instant: a status in
-- <reopen_statuses> wins, then a resolved status, then the lowest status code; so "received
-- and closed in the same second" is resolved and "closed and reopened in the same second" is
-- not. The one definition of "as of the cut-off", included by every query that needs it.
-- next_changed_at is the changed_at of the row ranked just before (the matter's next change
-- before the cut-off, NULL for rn = 1): a row's status holds from changed_at until then, so
-- the status as of any instant up to the cut-off can be read from the same ranking (an
-- instant t: the row with changed_at < t AND (next_changed_at IS NULL OR next_changed_at >= t)).
ranked AS (
    SELECT h.channel, h.source_id, h.status, s.is_resolved, h.changed_at,
           ROW_NUMBER() OVER latest_first AS rn,
           LAG(h.changed_at) OVER latest_first AS next_changed_at
      FROM complaint_status_history h
      JOIN matters_in_scope m ON m.channel = h.channel AND m.source_id = h.source_id
      JOIN dim_status s ON s.status_code = h.status
     WHERE h.changed_at < :asof_before
    WINDOW latest_first AS (
               PARTITION BY h.channel, h.source_id
               ORDER BY h.changed_at DESC,
                        CASE WHEN h.status IN :reopen_statuses THEN 2
                             WHEN s.is_resolved = TRUE THEN 1
                             ELSE 0 END DESC,
                        h.status
           )
),
