-- The projects of a vector tile as a tenant's scope has them (follows scope.sql and
-- period_project.sql; project_points.sql makes the tile): tile_point and tile_policy.
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
), tile_policy AS (
  SELECT pp.id, pp.project_id
  FROM period_policy pp
  WHERE pp.project_id IN (SELECT id FROM tile_project)
), project_claims AS MATERIALIZED (
  SELECT tpo.project_id, count(*) AS claims
  FROM tile_policy tpo JOIN claim c ON c.policy_id = tpo.id
  GROUP BY tpo.project_id
), tile_point AS (
  SELECT tp.id, ST_Transform(tp.location, 3857) AS geom,
         (SELECT count(*) FROM risk_event e
           WHERE e.project_id = tp.id AND e.status <> 'closed') AS open_risk_events,
         COALESCE(pc.claims, 0) AS claims,
         (SELECT g.grade FROM project_grade g WHERE g.project_id = tp.id
          ORDER BY g.id DESC LIMIT 1) AS grade
  FROM tile_project tp LEFT JOIN project_claims pc ON pc.project_id = tp.id
)
