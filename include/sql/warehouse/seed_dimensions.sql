-- Dimensions are seeded from include/config/pipeline.yaml at every schema check, so a
-- code added to the config is in the warehouse before the first row that uses it.
INSERT INTO dim_channel (channel_code, name_th, name_en)
VALUES (:code, :name_th, :name_en)
ON CONFLICT (channel_code) DO UPDATE SET name_th = excluded.name_th, name_en = excluded.name_en
;
INSERT INTO dim_district (district_code, name_th, name_en)
VALUES (:code, :name_th, :name_en)
ON CONFLICT (district_code) DO UPDATE SET name_th = excluded.name_th, name_en = excluded.name_en
;
INSERT INTO dim_category (category_code, name_th, name_en, default_unit)
VALUES (:code, :name_th, :name_en, :default_unit)
ON CONFLICT (category_code) DO UPDATE SET
    name_th = excluded.name_th, name_en = excluded.name_en, default_unit = excluded.default_unit
;
INSERT INTO dim_unit (unit_code, name_th, name_en)
VALUES (:code, :name_th, :name_en)
ON CONFLICT (unit_code) DO UPDATE SET name_th = excluded.name_th, name_en = excluded.name_en
;
INSERT INTO dim_status (status_code, name_th, name_en, is_resolved)
VALUES (:code, :name_th, :name_en, :is_resolved)
ON CONFLICT (status_code) DO UPDATE SET
    name_th = excluded.name_th, name_en = excluded.name_en, is_resolved = excluded.is_resolved
