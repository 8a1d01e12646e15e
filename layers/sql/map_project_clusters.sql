-- The projects of a cluster tile for a caller who sees the whole programme, unfiltered by
-- insurer, TIS or period, from map_project (see map_project_tile.sql); cluster_cells.sql
-- makes the tile. Equal to project_clusters.sql's for such a caller (tests/test_map_project.py).
WITH tile_member AS (
  SELECT m.project_id AS id, m.gross_floor_area_m2, m.geom, m.open_risk_events
  FROM riskmap_map_projects_in_box(:west, :south, :east, :north) m
  WHERE (CAST(:district AS text) IS NULL OR m.district_code = :district)
    AND (CAST(:stage AS text) IS NULL OR m.stage = :stage)
)
