-- The earliest received date of a matter the digest of <as_of> may list (NULL when there is
-- none): the calendar must reach back to it for the ages and due dates.
SELECT MIN(received_date) AS first_day FROM complaint WHERE received_date <= :as_of
