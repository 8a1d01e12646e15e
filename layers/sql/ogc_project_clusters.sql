-- The "project_clusters" layer of an OGC API vector tile too dense for points (more projects
-- than layers/tiles.py's MAX_TILE_POINTS): the projects the caller may see (row security
-- narrows project) counted on a :grid x :grid grid of the tile, in the tile matrix set's CRS.
-- Each cell belongs to exactly one tile (the tile itself is searched, without a margin), so
-- counts add up across tiles. {to_crs} and {search} are as in ogc_project_tile.sql.
WITH tile_member AS (
  SELECT p.id, p.gross_floor_area_m2, {to_crs} AS point
  FROM project p
  WHERE p.location && {search}
), open_event AS MATERIALIZED (
  -- materialised, so that it is joined by hashing once rather than rescanned per member
  SELECT e.project_id, count(*) AS open_risk_events
  FROM tile_member tm JOIN risk_event e ON e.project_id = tm.id
  WHERE e.status <> 'closed'
  GROUP BY e.project_id
), celled AS (
  SELECT tm.gross_floor_area_m2, tm.point, COALESCE(oe.open_risk_events, 0) AS open_risk_events,
         floor((ST_X(tm.point) - :xmin) / :cell) AS cx,
         floor((:ymax - ST_Y(tm.point)) / :cell) AS cy  -- tile rows run south
  FROM tile_member tm LEFT JOIN open_event oe ON oe.project_id = tm.id
), feature AS (
  SELECT CAST(count(*) AS int) AS count,
         CAST(sum(gross_floor_area_m2) AS float8) AS floor_area_m2,
         CAST(sum(open_risk_events) AS int) AS open_risk_events,
         -- at the projects' centroid, not the cell's centre: closer to where they are
         ST_AsMVTGeom(ST_Centroid(ST_Collect(point)),
                      ST_MakeEnvelope(:xmin, :ymin, :xmax, :ymax, :srid), :extent, 0, false)
           AS geom
  FROM celled
  WHERE cx >= 0 AND cx < :grid AND cy >= 0 AND cy < :grid
  GROUP BY cx, cy
)
SELECT ST_AsMVT(feature, 'project_clusters', :extent, 'geom')
FROM feature
WHERE geom IS NOT NULL
