-- The MIS complaints whose updated_at lies in [start_at, end_at) (naive Bangkok wall-clock
-- time, as the MIS stores it), each with all its actions: one LEFT JOIN, so complaints and
-- actions come from the same snapshot and no IN list is needed however long the interval.
-- Ordered so that each complaint's rows are adjacent and its actions chronological.
SELECT c.complaint_no, c.received_at, c.district_name, c.category_name, c.subject, c.detail,
       c.complainant_name, c.complainant_phone, c.latitude, c.longitude, c.assigned_unit,
       c.status, c.result_detail, c.updated_at,
       a.action_id, a.action_at, a.status AS action_status, a.note AS action_note
  FROM mis_complaint c
  LEFT JOIN mis_complaint_action a ON a.complaint_no = c.complaint_no
 WHERE c.updated_at >= :start_at AND c.updated_at < :end_at
 ORDER BY c.complaint_no, a.action_at, a.action_id
