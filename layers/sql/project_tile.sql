-- The projects of a vector tile as a tenant's scope has them (follows scope.sql and
-- period_project.sql; project_points.sql makes the tile): tile_point and insurers.
-- :z/:x/:y is the tile; :margin widens the search so that points within the MVT buffer
-- (:buffer of :extent units) also land in the neighbouring tiles and symbols are not cut at
-- the tile edges.
, tile_project AS (
  SELECT p.id, p.location
  FROM period_project p
  -- compared in 4326 so that the GiST index on location answers it; clipped to the world,
  -- since past the antimeridian the box would wrap round to the other side
  WHERE p.location && ST_Transform(ST_ClipByBox2D(
    ST_TileEnvelope(:z, :x, :y, margin => :margin), ST_TileEnvelope(0, 0, 0)), 4326)
), project_insurer AS (
  -- an insurer may hold shares in several of the project's policies
  SELECT pp.project_id, ps.insurer_id, bool_or(ps.is_lead) AS is_lead, max(ps.share) AS share
  FROM period_policy pp JOIN policy_share ps ON ps.policy_id = pp.id
  WHERE pp.project_id IN (SELECT id FROM tile_project)
  GROUP BY pp.project_id, ps.insurer_id
), insurers AS MATERIALIZED (
  SELECT pi.project_id,
         string_agg(o.name, '、' ORDER BY pi.is_lead DESC, pi.share DESC, o.name) AS names
  FROM project_insurer pi JOIN organisation o ON o.id = pi.insurer_id
  GROUP BY pi.project_id
), project_claims AS MATERIALIZED (
  SELECT pp.project_id, count(*) AS claims
  FROM period_policy pp JOIN claim c ON c.policy_id = pp.id
  WHERE pp.project_id IN (SELECT id FROM tile_project)
  GROUP BY pp.project_id
), tile_point AS (
  SELECT tp.id, ST_Transform(tp.location, 3857) AS geom,
         (SELECT count(*) FROM risk_event e
           WHERE e.project_id = tp.id AND e.status <> 'closed') AS open_risk_events,
         COALESCE(pc.claims, 0) AS claims,
         (SELECT g.grade FROM project_grade g WHERE g.project_id = tp.id
          ORDER BY g.id DESC LIMIT 1) AS grade
  FROM tile_project tp LEFT JOIN project_claims pc ON pc.project_id = tp.id
)
