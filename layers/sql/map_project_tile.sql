-- The projects of a vector tile for a caller who sees the whole programme, unfiltered by
-- insurer, TIS or period: from map_project (geo/sql/0010_map_project.sql), kept current by the
-- writes, so a tile reads only its own projects (project_points.sql makes the tile).
-- Equal to project_tile.sql's for such a caller (tests/test_map_project.py).
WITH tile_point AS (
  SELECT m.project_id AS id, m.geom, m.open_risk_events, m.claims, m.grade
  FROM riskmap_map_projects_in_box(:west, :south, :east, :north) m
  WHERE (CAST(:district AS text) IS NULL OR m.district_code = :district)
    AND (CAST(:stage AS text) IS NULL OR m.stage = :stage)
), project_insurer AS (
  SELECT po.project_id, ps.insurer_id, bool_or(ps.is_lead) AS is_lead, max(ps.share) AS share
  FROM policy po JOIN policy_share ps ON ps.policy_id = po.id
  WHERE po.project_id IN (SELECT id FROM tile_point)
    AND po.status NOT IN ('returned', 'cancelled')
  GROUP BY po.project_id, ps.insurer_id
), insurers AS MATERIALIZED (
  SELECT pi.project_id,
         string_agg(o.name, '、' ORDER BY pi.is_lead DESC, pi.share DESC, o.name) AS names
  FROM project_insurer pi JOIN organisation o ON o.id = pi.insurer_id
  GROUP BY pi.project_id
)
