-- How many days of [<first_day>, <last_day>] the calendar holds.
SELECT COUNT(*) AS days FROM dim_calendar WHERE day >= :first_day AND day <= :last_day
