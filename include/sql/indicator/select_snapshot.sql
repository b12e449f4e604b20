SELECT result_json FROM indicator_snapshot WHERE fiscal_year_be = :fiscal_year_be AND cutoff = :cutoff
