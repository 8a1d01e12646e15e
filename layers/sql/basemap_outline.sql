-- The offline outline basemap of a city: its province's and its own outline, every loaded
-- city of the province, and the city's districts, each with a point inside it for its label.
-- Boundaries are simplified (:tolerance degrees) for the map; ST_PointOnSurface keeps a label
-- inside a crescent-shaped district, where a centroid could fall outside.
WITH target AS (
  SELECT province_code, province_name FROM district WHERE city_code = :city LIMIT 1
), province AS (
  SELECT 'province' AS level, t.province_code AS code, t.province_name AS name,
         ST_Union(d.boundary) AS geom
  FROM district d JOIN target t ON d.province_code = t.province_code
  GROUP BY t.province_code, t.province_name
), cities AS (
  SELECT 'city' AS level, d.city_code AS code, min(d.city_name) AS name,
         ST_Union(d.boundary) AS geom
  FROM district d JOIN target t ON d.province_code = t.province_code
  GROUP BY d.city_code
), districts AS (
  SELECT 'district' AS level, code, name, boundary AS geom
  FROM district WHERE city_code = :city
)
SELECT level, trim(code) AS code, name,
       ST_AsGeoJSON(ST_SimplifyPreserveTopology(geom, :tolerance), 5) AS geometry,
       ST_X(ST_PointOnSurface(geom)) AS label_lon, ST_Y(ST_PointOnSurface(geom)) AS label_lat
FROM (SELECT * FROM province UNION ALL SELECT * FROM cities UNION ALL SELECT * FROM districts) g
ORDER BY CASE level WHEN 'province' THEN 0 WHEN 'city' THEN 1 ELSE 2 END, code
