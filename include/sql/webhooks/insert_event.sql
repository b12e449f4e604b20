-- One delivered event; a redelivery of a stored event only bumps its counter. RETURNING tells
-- the receiver which it was (0: first delivery).
INSERT INTO webhook_inbox (
    source, event_id, event_type, kind, message_id, event_time, received_at, is_redelivery, event_json,
    content_sha256
) VALUES (
    :source, :event_id, :event_type, :kind, :message_id, :event_time, :received_at, :is_redelivery, :event_json,
    :content_sha256
)
ON CONFLICT (source, event_id) DO UPDATE SET redeliveries = webhook_inbox.redeliveries + 1
RETURNING redeliveries
