-- The events of one source in [start, end) (UTC), and every unsend/edit from start on: an edit
-- or unsend can arrive after the interval of the message it changes.
SELECT event_id, event_type, kind, message_id, event_time, event_json
FROM webhook_inbox
WHERE source = :source
  AND event_time >= :start
  AND (event_time < :end OR kind IN ('unsend', 'edit'))
ORDER BY event_time, event_id
