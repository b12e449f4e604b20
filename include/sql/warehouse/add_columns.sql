-- Additive migrations: columns added to a table after warehouses were first created with it.
-- schema.sql creates new warehouses with them already; for an existing one, ensure_schema
-- runs a statement here only when SQLAlchemy's inspector does not list its column (on
-- PostgreSQL also as ADD COLUMN IF NOT EXISTS, so two runs racing each other both succeed).
-- Safe to re-run on PostgreSQL and SQLite. One statement per column, each nullable: only
-- "ALTER TABLE <table> ADD COLUMN <column> <type>" lines belong here.
ALTER TABLE complaint ADD COLUMN secondary_categories TEXT
;
ALTER TABLE complaint ADD COLUMN satisfaction_star INTEGER
;
ALTER TABLE complaint ADD COLUMN reopen_count INTEGER
;
ALTER TABLE ingest_batch ADD COLUMN status_events_held INTEGER
;
ALTER TABLE ingest_batch ADD COLUMN content_sha256 TEXT
;
ALTER TABLE complaint ADD COLUMN unmapped_unit TEXT
;
ALTER TABLE complaint ADD COLUMN unmapped_category TEXT
;
ALTER TABLE complaint ADD COLUMN unmapped_status TEXT
;
ALTER TABLE complaint ADD COLUMN source_id_is_surrogate BOOLEAN
;
ALTER TABLE complaint ADD COLUMN clock_skew_ms INTEGER
