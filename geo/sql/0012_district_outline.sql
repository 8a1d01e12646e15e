-- Each district's outline as the district layers draw it, kept beside its boundary: simplified
-- (layers/districts.py's SIMPLIFY_DEGREES, 0.0005°, about 50 m) and written as GeoJSON once,
-- when the boundary is stored, rather than on every request for a layer (two thirds of a
-- district layer's query went on simplifying the same boundaries again).
ALTER TABLE district ADD COLUMN outline_geojson text
  GENERATED ALWAYS AS (ST_AsGeoJSON(ST_SimplifyPreserveTopology(boundary, 0.0005), 5)) STORED;
