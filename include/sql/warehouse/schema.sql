-- Complaint warehouse. Portable between PostgreSQL and SQLite: every statement here
-- runs on both. Timestamps are UTC (TIMESTAMP without zone); received_date is the
-- Asia/Bangkok calendar date the matter was received, the unit of the indicator windows.
-- Statements are separated by lines holding only ';'. Only ingest_batch and
-- ingested_file carry wall-clock times, so re-running an interval leaves every other
-- table identical.

CREATE TABLE IF NOT EXISTS dim_channel (
    channel_code        TEXT PRIMARY KEY,
    name_th             TEXT NOT NULL,
    name_en             TEXT NOT NULL
)
;
CREATE TABLE IF NOT EXISTS dim_district (
    district_code TEXT PRIMARY KEY,
    name_th       TEXT NOT NULL,
    name_en       TEXT NOT NULL
)
;
CREATE TABLE IF NOT EXISTS dim_category (
    category_code TEXT PRIMARY KEY,
    name_th       TEXT NOT NULL,
    name_en       TEXT NOT NULL,
    default_unit  TEXT
)
;
CREATE TABLE IF NOT EXISTS dim_unit (
    unit_code TEXT PRIMARY KEY,
    name_th   TEXT NOT NULL,
    name_en   TEXT NOT NULL
)
;
CREATE TABLE IF NOT EXISTS dim_status (
    status_code TEXT PRIMARY KEY,
    name_th     TEXT NOT NULL,
    name_en     TEXT NOT NULL,
    is_resolved BOOLEAN NOT NULL
)
;
CREATE TABLE IF NOT EXISTS complaint (
    channel            TEXT NOT NULL REFERENCES dim_channel (channel_code),
    source_id          TEXT NOT NULL,
    received_at        TIMESTAMP NOT NULL,
    received_date      DATE NOT NULL,
    district_code      TEXT NOT NULL REFERENCES dim_district (district_code),
    category_code      TEXT NOT NULL REFERENCES dim_category (category_code),
    description        TEXT,
    latitude           DOUBLE PRECISION,
    longitude          DOUBLE PRECISION,
    reporter_pseudonym TEXT,
    responsible_unit   TEXT REFERENCES dim_unit (unit_code),
    status             TEXT NOT NULL REFERENCES dim_status (status_code),
    acknowledged_at    TIMESTAMP,
    resolved_at        TIMESTAMP,
    resolution_report  TEXT,
    source_updated_at  TIMESTAMP NOT NULL,
    batch_id           TEXT NOT NULL,
    -- Added after the first release (an existing warehouse gets them from add_columns.sql):
    -- the other category codes of a matter tagged with several (comma-separated), the
    -- reporter's 1-5 rating and the source's reopen count (Traffy Fondue; NULL elsewhere).
    secondary_categories TEXT,
    satisfaction_star    INTEGER,
    reopen_count         INTEGER,
    -- The source's raw label where responsible_unit / category_code / status is 'unmapped'
    -- (no crosswalk line for it yet; see include/sql/warehouse/unmapped_values.sql), whether
    -- source_id is a surrogate key (an anonymous ticket without its own id) and the source's
    -- clock skew that was tolerated (update time before received time), in milliseconds.
    unmapped_unit          TEXT,
    unmapped_category      TEXT,
    unmapped_status        TEXT,
    source_id_is_surrogate BOOLEAN,
    clock_skew_ms          INTEGER,
    PRIMARY KEY (channel, source_id)
)
;
CREATE INDEX IF NOT EXISTS ix_complaint_received_date ON complaint (received_date, channel)
;
-- Every status change; no foreign key to complaint, so an update that arrives before
-- its complaint is kept rather than lost.
CREATE TABLE IF NOT EXISTS complaint_status_history (
    channel    TEXT NOT NULL,
    source_id  TEXT NOT NULL,
    changed_at TIMESTAMP NOT NULL,
    status     TEXT NOT NULL REFERENCES dim_status (status_code),
    note       TEXT,
    batch_id   TEXT NOT NULL,
    PRIMARY KEY (channel, source_id, changed_at, status)
)
;
CREATE TABLE IF NOT EXISTS quarantine (
    batch_id       TEXT NOT NULL,
    row_number     INTEGER NOT NULL,
    channel        TEXT NOT NULL,
    source_id      TEXT,
    reasons        TEXT NOT NULL,
    raw_record     TEXT NOT NULL,
    PRIMARY KEY (batch_id, row_number)
)
;
CREATE INDEX IF NOT EXISTS ix_quarantine_channel ON quarantine (channel)
;
CREATE TABLE IF NOT EXISTS ingest_batch (
    batch_id         TEXT PRIMARY KEY,
    channel          TEXT NOT NULL,
    interval_start   TIMESTAMP NOT NULL,
    interval_end     TIMESTAMP NOT NULL,
    source_part      TEXT NOT NULL,
    rows_read        INTEGER NOT NULL,
    rows_loaded      INTEGER NOT NULL,
    rows_quarantined INTEGER NOT NULL,
    checksum         TEXT,
    outcome          TEXT NOT NULL,
    message          TEXT,
    finished_at      TIMESTAMP NOT NULL,
    -- Added after the first release (add_columns.sql): status changes this batch delivered
    -- for complaints it did not load, held in held_status_event; and the sha256 of the rows
    -- as read (canonical records, then the raw rejected rows), for every batch, where
    -- checksum is only the bytes of a file.
    status_events_held INTEGER,
    content_sha256     TEXT
)
;
CREATE TABLE IF NOT EXISTS ingested_file (
    channel     TEXT NOT NULL,
    file_sha256 TEXT NOT NULL,
    file_name   TEXT NOT NULL,
    batch_id    TEXT NOT NULL,
    ingested_at TIMESTAMP NOT NULL,
    PRIMARY KEY (channel, file_sha256)
)
;
-- A status change that arrived before its complaint (or with a complaint that was quarantined):
-- held, never dropped, under the batch that delivered it. The first batch of the channel after
-- which the complaint is in the warehouse copies it into complaint_status_history and sets
-- applied_batch_id. Rows are kept after that, as the record of what arrived out of order.
CREATE TABLE IF NOT EXISTS held_status_event (
    batch_id         TEXT NOT NULL,
    channel          TEXT NOT NULL,
    source_id        TEXT NOT NULL,
    changed_at       TIMESTAMP NOT NULL,
    status           TEXT NOT NULL REFERENCES dim_status (status_code),
    note             TEXT,
    applied_batch_id TEXT,
    PRIMARY KEY (batch_id, channel, source_id, changed_at, status)
)
;
CREATE INDEX IF NOT EXISTS ix_held_status_event_waiting ON held_status_event (channel, applied_batch_id)
;
-- Every call to the Traffy Fondue Exchange API, with the credits it spent against the account's
-- monthly quota (traffy-nectec/exchange-api-doc, docs/overview.md: almost every call costs a
-- credit; the quota resets on the 1st of each month). quota_month is the Bangkok calendar month
-- ('YYYY-MM'); credit_balance and quota_limit are what the answer said (NULL: not said, or
-- unlimited). The run's budget check sums credits per quota_month.
CREATE TABLE IF NOT EXISTS traffy_credit_ledger (
    call_id            TEXT PRIMARY KEY,
    called_at          TIMESTAMP NOT NULL,
    quota_month        TEXT NOT NULL,
    endpoint           TEXT NOT NULL,
    org_id             TEXT,
    credits            INTEGER NOT NULL,
    api_status         TEXT,
    api_message        TEXT,
    credit_balance     INTEGER,
    quota_limit        INTEGER,
    api_log_session_id TEXT
)
;
CREATE INDEX IF NOT EXISTS ix_traffy_credit_ledger_month ON traffy_credit_ledger (quota_month)
;
-- Each computed indicator, as the quarterly DAG's compute task stored it: the report
-- task renders from it, so the published files show exactly what was computed.
CREATE TABLE IF NOT EXISTS indicator_snapshot (
    fiscal_year_be INTEGER NOT NULL,
    cutoff         DATE NOT NULL,
    rubric_version TEXT NOT NULL,
    result_json    TEXT NOT NULL,
    computed_at    TIMESTAMP NOT NULL,
    PRIMARY KEY (fiscal_year_be, cutoff)
)
