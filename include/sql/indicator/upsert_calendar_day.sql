-- One calendar day; re-running with the same values leaves the row as it is.
INSERT INTO dim_calendar (
    day, is_business_day, business_day_seq, month_start, fiscal_year_be, day_start_utc, day_end_utc, holiday_name_th
) VALUES (
    :day, :is_business_day, :business_day_seq, :month_start, :fiscal_year_be, :day_start_utc, :day_end_utc,
    :holiday_name_th
)
ON CONFLICT (day) DO UPDATE SET
    is_business_day = excluded.is_business_day,
    business_day_seq = excluded.business_day_seq,
    month_start = excluded.month_start,
    fiscal_year_be = excluded.fiscal_year_be,
    day_start_utc = excluded.day_start_utc,
    day_end_utc = excluded.day_end_utc,
    holiday_name_th = excluded.holiday_name_th
