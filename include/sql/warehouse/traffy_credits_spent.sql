-- Credits the Traffy Fondue Exchange API calls spent in one quota month ('YYYY-MM', Bangkok).
SELECT COALESCE(SUM(credits), 0) AS spent
  FROM traffy_credit_ledger
 WHERE quota_month = :quota_month
