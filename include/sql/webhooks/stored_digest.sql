-- The content digest stored under an event id (a reused id with other content is another event).
SELECT content_sha256 FROM webhook_inbox WHERE source = :source AND event_id = :event_id
