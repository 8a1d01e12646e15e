-- The outline of every city and province: the union of its districts' boundaries, kept beside
-- them (written by the districts' loader, geo/sql/area_outline_refresh.sql) so the overview
-- above the city draws cities and provinces as the map draws districts, without a union of
-- thousands of boundaries per request (the nation's 345 cities take about 15 s to union).
CREATE TABLE area_outline (
  code char(6) PRIMARY KEY CHECK (is_gb2260(code)),
  level text NOT NULL CHECK (level IN ('city', 'province')),
  boundary geometry(MultiPolygon, 4326) NOT NULL,
  -- simplified for the view it is drawn in: a province's cities (~500 m), the nation's
  -- provinces (~2 km)
  outline_geojson text GENERATED ALWAYS AS (ST_AsGeoJSON(ST_SimplifyPreserveTopology(
    boundary, CASE level WHEN 'city' THEN 0.005 ELSE 0.02 END), 4)) STORED,
  -- where its name is written on the map: inside it, computed once
  label geometry(Point, 4326) GENERATED ALWAYS AS (ST_PointOnSurface(boundary)) STORED
);

CREATE TRIGGER area_outline_ins_bump AFTER INSERT ON area_outline REFERENCING NEW TABLE AS changed
  FOR EACH STATEMENT EXECUTE FUNCTION bump_data_version();
CREATE TRIGGER area_outline_upd_bump AFTER UPDATE ON area_outline REFERENCING NEW TABLE AS changed
  FOR EACH STATEMENT EXECUTE FUNCTION bump_data_version();
CREATE TRIGGER area_outline_del_bump AFTER DELETE ON area_outline REFERENCING OLD TABLE AS changed
  FOR EACH STATEMENT EXECUTE FUNCTION bump_data_version();
CREATE TRIGGER area_outline_trunc_bump AFTER TRUNCATE ON area_outline
  FOR EACH STATEMENT EXECUTE FUNCTION bump_data_version_always();

-- A district as the pages name it within an area (area_prefix: a province's or the nation's
-- code prefix, NULL for a city): with its city above the city, as many districts share a name
-- (朝阳区 of Beijing and of Changchun) that a chart by district would otherwise add together.
CREATE FUNCTION riskmap_district_label(name text, city_name text, area_prefix text)
RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT CASE WHEN area_prefix IS NULL THEN name ELSE city_name || name END
$$;

DO $$
BEGIN
  IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'riskmap_web') THEN
    GRANT SELECT ON area_outline TO riskmap_web;
  END IF;
END $$;
