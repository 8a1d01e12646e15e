-- The projects of a vector tile for a caller who sees the whole programme, unfiltered by
-- insurer, TIS or period: from map_project (geo/sql/0010_map_project.sql), kept current by the
-- writes, so a tile reads only its own projects (project_points.sql makes the tile).
-- Equal to project_tile.sql's for such a caller (tests/test_map_project.py).
WITH tile_point AS (
  SELECT m.project_id AS id, m.geom, m.open_risk_events, m.claims, m.grade
  FROM riskmap_map_projects_in_box(:west, :south, :east, :north) m
  WHERE (CAST(:district AS text) IS NULL OR m.district_code = :district)
    AND (CAST(:stage AS text) IS NULL OR m.stage = :stage)
), tile_policy AS (
  SELECT po.id, po.project_id
  FROM policy po
  WHERE po.project_id IN (SELECT id FROM tile_point)
    AND po.status NOT IN ('returned', 'cancelled')
)
