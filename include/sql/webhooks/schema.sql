-- The webhook inbox: every event a push source (LINE, Facebook, ...) delivered, written before
-- the receiver answers 200 and read by the daily DAG. Append-only apart from the redelivery
-- counter and the withdrawal of an unsent message's text. Portable PostgreSQL/SQLite.
-- event_json is the event as delivered with every userId replaced by its keyed pseudonym and
-- phone/national id numbers in texts masked: the raw id never reaches the warehouse.
-- kind: message (a complaint's content), unsend, edit, not_a_complaint (follow, join, ...).
-- Timestamps are UTC without zone. Statements are separated by lines holding only ';'.
CREATE TABLE IF NOT EXISTS webhook_inbox (
    source        TEXT NOT NULL,
    event_id      TEXT NOT NULL,
    event_type    TEXT NOT NULL,
    kind          TEXT NOT NULL,
    message_id    TEXT,
    event_time    TIMESTAMP NOT NULL,
    received_at   TIMESTAMP NOT NULL,
    is_redelivery BOOLEAN NOT NULL,
    redeliveries  INTEGER NOT NULL DEFAULT 0,
    event_json    TEXT NOT NULL,
    -- sha256 of the event without deliveryContext/replyToken: a redelivery has the same one
    content_sha256 TEXT NOT NULL,
    PRIMARY KEY (source, event_id)
)
;
CREATE INDEX IF NOT EXISTS webhook_inbox_time ON webhook_inbox (source, event_time)
;
CREATE INDEX IF NOT EXISTS webhook_inbox_message ON webhook_inbox (source, message_id)
