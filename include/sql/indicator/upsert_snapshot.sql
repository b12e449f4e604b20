INSERT INTO indicator_snapshot (fiscal_year_be, cutoff, rubric_version, result_json, computed_at)
VALUES (:fiscal_year_be, :cutoff, :rubric_version, :result_json, :computed_at)
ON CONFLICT (fiscal_year_be, cutoff) DO UPDATE SET
    rubric_version = excluded.rubric_version,
    result_json = excluded.result_json,
    computed_at = excluded.computed_at
