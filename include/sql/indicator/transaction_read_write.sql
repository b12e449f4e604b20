-- PostgreSQL only, the first statement of compute_indicator's transaction: the reporting role
-- logs in with default_transaction_read_only = on (include/sql/roles/), and a read-only
-- transaction refuses CREATE TEMPORARY TABLE, which the computation needs (status_tables.sql).
-- This lifts the default for this transaction only; the role's grants (SELECT on the warehouse,
-- nothing else) still refuse every write to a warehouse table.
SET TRANSACTION READ WRITE
