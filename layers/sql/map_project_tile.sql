-- The projects of a vector tile for a caller who sees the whole programme, unfiltered by
-- insurer, TIS or period: all a point draws is kept in map_project by the writes
-- (geo/sql/0010_map_project.sql, 0017_map_tile.sql), so a tile reads its own rows and nothing
-- else. tile_count.sql follows; map_project_points.sql makes the tile. Equal to
-- project_tile.sql's for such a caller (tests/test_map_project.py).
WITH tile_point AS (
  SELECT m.project_id AS id, m.geom, m.open_risk_events, m.claims, m.grade, m.name,
         m.permit_no, m.community, m.stage, m.district_code, m.insurers
  FROM riskmap_map_projects_in_box(:west, :south, :east, :north) m
  WHERE (CAST(:district AS text) IS NULL OR m.district_code = :district)
    AND (CAST(:stage AS text) IS NULL OR m.stage = :stage)
)
