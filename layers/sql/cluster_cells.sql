-- The "project_clusters" layer of a vector tile: the projects of tile_member aggregated on
-- a grid of :grid x :grid cells per tile. Cells are aligned on the world's Web Mercator grid
-- and each belongs to exactly one tile, so counts add up across tiles.
, celled AS (
  SELECT tm.gross_floor_area_m2, tm.geom, tm.open_risk_events,
         -- cell size: the width of the world in metres / tiles / cells per tile
         floor((ST_X(tm.geom) + 20037508.342789244)
               / (2 * 20037508.342789244 / (2 ^ :z) / :grid)) AS cx,
         floor((20037508.342789244 - ST_Y(tm.geom))  -- tile rows run south
               / (2 * 20037508.342789244 / (2 ^ :z) / :grid)) AS cy
  FROM tile_member tm
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
