-- The Bangkok calendar the indicator joins on: one row per day. Portable between
-- PostgreSQL and SQLite; filled by complaints.indicator.calendar.ensure_calendar from
-- the `holidays` package (Thai public and government holidays, substitution days
-- included) plus weekends. Statements are separated by lines holding only ';'.
--
-- business_day_seq counts business days cumulatively from a fixed anchor: it goes up by
-- one on each business day and stays put on a weekend or holiday, so a non-business day
-- carries the number of the last business day before it. The number of business days
-- after day a up to and including day b is seq(b) - seq(a); "the N-th business day after
-- day a" is the business day whose seq is seq(a) + N.
-- day_start_utc / day_end_utc are the UTC instants (naive, like every warehouse
-- timestamp) at which the Bangkok day starts and the next one starts, so a stored
-- timestamp t falls on Bangkok day d when day_start_utc <= t < day_end_utc.
CREATE TABLE IF NOT EXISTS dim_calendar (
    day              DATE PRIMARY KEY,
    is_business_day  BOOLEAN NOT NULL,
    business_day_seq INTEGER NOT NULL,
    month_start      DATE NOT NULL,
    fiscal_year_be   INTEGER NOT NULL,
    day_start_utc    TIMESTAMP NOT NULL,
    day_end_utc      TIMESTAMP NOT NULL,
    holiday_name_th  TEXT
)
;
CREATE INDEX IF NOT EXISTS ix_dim_calendar_month ON dim_calendar (month_start)
;
CREATE INDEX IF NOT EXISTS ix_dim_calendar_day_start ON dim_calendar (day_start_utc)
