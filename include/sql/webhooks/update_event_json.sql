UPDATE webhook_inbox SET event_json = :event_json WHERE source = :source AND event_id = :event_id
