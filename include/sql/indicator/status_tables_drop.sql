-- Drop the temporary tables of status_tables.sql at the end of the computation (a pooled
-- connection would otherwise keep them). Statements are separated by lines holding only ';'.
DROP TABLE indicator_matter
;
DROP TABLE indicator_status_change
