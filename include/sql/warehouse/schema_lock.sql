-- PostgreSQL only: a transaction-scoped advisory lock held while the schema is created or
-- migrated, so daily runs of several channels that start together do not race each other's
-- CREATE TABLE IF NOT EXISTS (two such statements at once can fail on a duplicate pg_type
-- key). SQLite serialises writers itself and never runs this.
SELECT pg_advisory_xact_lock(:lock_key)
