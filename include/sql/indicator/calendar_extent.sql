-- First and last day the calendar holds (NULLs when it is empty).
SELECT MIN(day) AS first_day, MAX(day) AS last_day FROM dim_calendar
