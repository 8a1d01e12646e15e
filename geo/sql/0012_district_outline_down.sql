ALTER TABLE district DROP COLUMN IF EXISTS outline_geojson;
