-- How many MIS complaints have updated_at in [start_at, end_at) (naive Bangkok wall-clock
-- time, as the MIS stores it): the plan splits an interval into parts of a bounded number of
-- complaints with it. Answered from the index on updated_at.
SELECT COUNT(*) AS complaints
  FROM mis_complaint
 WHERE updated_at >= :start_at AND updated_at < :end_at
