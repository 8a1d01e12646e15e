-- The "project_clusters" layer of an OGC API vector tile too dense for points (more projects
-- than layers/tiles.py's MAX_TILE_POINTS): the projects the caller may see (row security
-- narrows project) counted on a :grid x :grid grid of the tile, in the tile matrix set's CRS.
-- Each cell belongs to exactly one tile (the tile itself is searched, without a margin), so
-- counts add up across tiles. {to_crs} and {search} are as in ogc_project_tile.sql.
WITH tile_member AS (
  SELECT p.id, p.gross_floor_area_m2, {to_crs} AS point
  FROM project p
  -- the box's ids first: see ogc_project_tile.sql
  WHERE p.id = ANY (ARRAY(SELECT riskmap_projects_in_box(:west, :south, :east, :north)))
    AND p.location && {search}
), celled AS MATERIALIZED (
  SELECT tm.id, tm.gross_floor_area_m2, tm.point,
         floor((ST_X(tm.point) - :xmin) / :cell) AS cx,
         floor((:ymax - ST_Y(tm.point)) / :cell) AS cy  -- tile rows run south
  FROM tile_member tm
), cell AS (
  SELECT cx, cy, count(*) AS count, sum(gross_floor_area_m2) AS floor_area_m2,
         -- at the projects' centroid, not the cell's centre: closer to where they are
         ST_Centroid(ST_Collect(point)) AS point
  FROM celled
  WHERE cx >= 0 AND cx < :grid AND cy >= 0 AND cy < :grid
  GROUP BY cx, cy
), cell_event AS (
  -- the open events counted by cell, then joined to the few cells: a join of each member
  -- to its events would be planned as a loop over every member
  SELECT c.cx, c.cy, count(*) AS open_risk_events
  FROM celled c JOIN risk_event e ON e.project_id = c.id
  WHERE e.status <> 'closed'
  GROUP BY c.cx, c.cy
), feature AS (
  SELECT CAST(c.count AS int) AS count, CAST(c.floor_area_m2 AS float8) AS floor_area_m2,
         CAST(COALESCE(ce.open_risk_events, 0) AS int) AS open_risk_events,
         ST_AsMVTGeom(c.point, ST_MakeEnvelope(:xmin, :ymin, :xmax, :ymax, :srid),
                      :extent, 0, false) AS geom
  FROM cell c LEFT JOIN cell_event ce ON ce.cx = c.cx AND ce.cy = c.cy
)
SELECT ST_AsMVT(feature, 'project_clusters', :extent, 'geom')
FROM feature
WHERE geom IS NOT NULL
