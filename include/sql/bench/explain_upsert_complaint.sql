-- The plan of the daily upsert, for docs/benchmarks.md.
EXPLAIN (ANALYZE, BUFFERS, COSTS OFF)
-- @include warehouse/upsert_complaint.sql
