-- How far each channel's data reaches: the latest interval_end of a batch that loaded (a
-- rejected batch covers nothing) and when the last such batch finished (naive UTC).
-- stale = 1 when the data does not reach <asof_before>, the first instant after the cut-off
-- day, or when the channel has no loaded batch at all.
SELECT c.channel_code AS channel, c.name_th,
       MAX(b.interval_end) AS covered_until_utc,
       MAX(b.finished_at) AS last_finished_at,
       CASE WHEN MAX(b.interval_end) >= :asof_before THEN 0 ELSE 1 END AS stale
  FROM dim_channel c
  LEFT JOIN ingest_batch b ON b.channel = c.channel_code AND b.outcome IN :covering_outcomes
 GROUP BY c.channel_code, c.name_th
 ORDER BY c.channel_code
