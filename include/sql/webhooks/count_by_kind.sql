-- Stored events and redeliveries of one source by kind and type (what was not a complaint).
SELECT kind, event_type, COUNT(*) AS events, SUM(redeliveries) AS redeliveries
FROM webhook_inbox
WHERE source = :source
GROUP BY kind, event_type
ORDER BY kind, event_type
