-- The naive quarterly reference's read of complaint: whole table, only the columns it counts by.
SELECT channel, source_id, received_date, district_code, category_code, responsible_unit FROM complaint
