-- Business days after <from_day> up to and including <to_day> (negative when <to_day> is earlier).
SELECT t.business_day_seq - f.business_day_seq AS business_days
  FROM dim_calendar f
  JOIN dim_calendar t ON t.day = :to_day
 WHERE f.day = :from_day
