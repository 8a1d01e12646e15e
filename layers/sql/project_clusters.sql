-- The "project_clusters" layer of a vector tile: projects in scope aggregated on a grid of
-- :grid x :grid cells per tile (follows scope.sql and period_project.sql). Cells are
-- aligned on the world's Web Mercator grid and each belongs to exactly one tile, so counts
-- add up across tiles.
, tile_project AS (
  SELECT p.id, p.gross_floor_area_m2, ST_Transform(p.location, 3857) AS geom,
         -- cell size: the width of the world in metres / tiles / cells per tile
         2 * 20037508.342789244 / (2 ^ :z) / :grid AS cell
  FROM period_project p
  -- a slightly wider box in 4326 uses the GiST index (the exact cell test follows);
  -- clipped to the world, since past the antimeridian it would wrap round
  WHERE p.location && ST_Transform(ST_ClipByBox2D(
    ST_TileEnvelope(:z, :x, :y, margin => :margin), ST_TileEnvelope(0, 0, 0)), 4326)
), celled AS (
  SELECT tp.id, tp.gross_floor_area_m2, tp.geom,
         floor((ST_X(tp.geom) + 20037508.342789244) / tp.cell) AS cx,
         floor((20037508.342789244 - ST_Y(tp.geom)) / tp.cell) AS cy,  -- tile rows run south
         (SELECT count(*) FROM risk_event e
           WHERE e.project_id = tp.id AND e.status <> 'closed') AS open_risk_events
  FROM tile_project tp
), feature AS (
  SELECT CAST(count(*) AS int) AS count,
         CAST(sum(gross_floor_area_m2) AS float8) AS floor_area_m2,
         CAST(sum(open_risk_events) AS int) AS open_risk_events,
         -- at the projects' centroid, not the cell's centre: closer to where they are
         ST_AsMVTGeom(ST_Centroid(ST_Collect(geom)), ST_TileEnvelope(:z, :x, :y),
                      :extent, 0, false) AS geom
  FROM celled
  WHERE cx >= :x * :grid AND cx < (:x + 1) * :grid
    AND cy >= :y * :grid AND cy < (:y + 1) * :grid
  GROUP BY cx, cy
)
SELECT ST_AsMVT(feature, 'project_clusters', :extent, 'geom')
FROM feature
WHERE geom IS NOT NULL
