-- The stored message events of one message id (to withdraw the text of an unsent message).
SELECT event_id, event_json
FROM webhook_inbox
WHERE source = :source AND message_id = :message_id AND kind = :kind
