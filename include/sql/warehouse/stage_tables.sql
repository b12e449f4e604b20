-- The batch's staging tables: unindexed, private to the connection (TEMPORARY), recreated for
-- every batch so they always have the warehouse tables' current columns. A batch's rows are
-- bulk-loaded here (COPY on PostgreSQL, executemany on SQLite), then moved into the warehouse
-- by one set-based statement each (upsert_complaint.sql, insert_status_history.sql); all of it
-- inside the batch's transaction. `ord` is the row's position in the batch.
DROP TABLE IF EXISTS stage_complaint
;
CREATE TEMPORARY TABLE stage_complaint AS SELECT c.*, 0 AS ord FROM complaint c WHERE 1 = 0
;
DROP TABLE IF EXISTS stage_status_history
;
CREATE TEMPORARY TABLE stage_status_history AS SELECT h.*, 0 AS ord FROM complaint_status_history h WHERE 1 = 0
