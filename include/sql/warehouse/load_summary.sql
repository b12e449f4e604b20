-- What the warehouse holds per channel: loaded complaints and quarantined rows.
SELECT c.channel_code AS channel,
       (SELECT COUNT(*) FROM complaint k WHERE k.channel = c.channel_code) AS complaints,
       (SELECT COUNT(*) FROM complaint_status_history h WHERE h.channel = c.channel_code) AS status_changes,
       (SELECT COUNT(*) FROM quarantine q WHERE q.channel = c.channel_code) AS quarantined
FROM dim_channel c
ORDER BY c.channel_code
