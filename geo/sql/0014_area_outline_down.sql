DROP FUNCTION IF EXISTS riskmap_district_label(text, text, text);
DROP TABLE IF EXISTS area_outline;
