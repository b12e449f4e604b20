-- N synthetic matters for the benchmark warehouses, generated inside PostgreSQL:
-- g is the matter number (received over 364 days from :first), h a pseudo-random 0..999 from g
-- (10 % stay open); codes and texts come from the config and the demo's texts as arrays.
WITH v AS (
    SELECT CAST(:channels AS text[]) AS channels, CAST(:districts AS text[]) AS districts,
           CAST(:categories AS text[]) AS categories, CAST(:units AS text[]) AS units,
           CAST(:texts AS text[]) AS texts, CAST(:reports AS text[]) AS reports
), g AS (
    SELECT g, CAST((CAST(g AS bigint) * 7919) % 1000 AS integer) AS h,
           CAST(:first AS timestamp) + (g % 364) * INTERVAL '1 day'
               + CAST((CAST(g AS bigint) * 37) % 36000 AS integer) * INTERVAL '1 second'
               + INTERVAL '1 hour 30 minutes' AS received_at
      FROM generate_series(1, :n) AS g
)
SELECT v.channels[1 + g % cardinality(v.channels)] AS channel,
       'W' || g AS source_id, received_at,
       CAST(received_at + INTERVAL '7 hours' AS date) AS received_date,
       v.districts[1 + (g / 7) % cardinality(v.districts)] AS district_code,
       v.categories[1 + (g / 3) % cardinality(v.categories)] AS category_code,
       v.texts[1 + g % cardinality(v.texts)] AS description,
       v.units[1 + (g / 3) % cardinality(v.categories)] AS responsible_unit,
       received_at + (10 + h) * INTERVAL '1 minute' AS acknowledged_at,
       CASE WHEN h < 900 THEN received_at + (h * 7) * INTERVAL '1 hour' END AS resolved_at,
       CASE WHEN h < 900 THEN v.reports[1 + g % cardinality(v.reports)] END AS resolution_report
  FROM g CROSS JOIN v
