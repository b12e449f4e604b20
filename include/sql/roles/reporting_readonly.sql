-- The read-only warehouse role the reporting queries (quarterly indicator, overdue digest,
-- report rendering) log in as: it may read every warehouse table and nothing else, so a
-- bug or an injected statement in the reporting path cannot change the official figures.
-- PostgreSQL only (SQLite has no roles). Identifiers cannot be bound parameters, so the
-- schema and role are psql variables, also substituted (validated and quoted) by
-- complaints.roles.grant_reporting_role:
--   psql -v schema=complaints -v role=complaints_reporting -f reporting_readonly.sql
-- Then give the role a password (\password complaints_reporting) and point the Airflow
-- connection complaints_warehouse_reporting at it. Run it again after adding a table
-- (the default privileges below cover tables the owner creates later).
-- Statements are separated by lines holding only ';'.

CREATE ROLE :"role" LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOINHERIT
;
REVOKE ALL ON SCHEMA :"schema" FROM :"role"
;
GRANT USAGE ON SCHEMA :"schema" TO :"role"
;
REVOKE ALL ON ALL TABLES IN SCHEMA :"schema" FROM :"role"
;
GRANT SELECT ON ALL TABLES IN SCHEMA :"schema" TO :"role"
;
ALTER DEFAULT PRIVILEGES IN SCHEMA :"schema" GRANT SELECT ON TABLES TO :"role"
;
ALTER ROLE :"role" SET search_path = :"schema"
;
-- Belt and braces: even a statement the grants would allow runs in a read-only transaction.
ALTER ROLE :"role" SET default_transaction_read_only = on
;
