-- The "projects" layer of a vector tile: one point per project of tile_point (in Web
-- Mercator, with its open risk events, claims and grade) with the names of the insurers of
-- its policies in tile_policy (id, project_id), both of which the source before this defines.
, project_insurer AS (
  -- an insurer may hold shares in several of the project's policies
  SELECT tpo.project_id, ps.insurer_id, bool_or(ps.is_lead) AS is_lead, max(ps.share) AS share
  FROM tile_policy tpo JOIN policy_share ps ON ps.policy_id = tpo.id
  GROUP BY tpo.project_id, ps.insurer_id
), insurers AS MATERIALIZED (
  SELECT pi.project_id,
         string_agg(o.name, '、' ORDER BY pi.is_lead DESC, pi.share DESC, o.name) AS names
  FROM project_insurer pi JOIN organisation o ON o.id = pi.insurer_id
  GROUP BY pi.project_id
)
, feature AS (
  SELECT tp.id AS fid, tp.id, p.name, p.permit_no, p.community,
         st.name_zh AS stage, d.name AS district, i.names AS insurers,
         CAST(tp.open_risk_events AS int) AS open_risk_events,
         CAST(tp.claims AS int) AS claims, tp.grade::text AS grade,
         ST_AsMVTGeom(tp.geom, ST_TileEnvelope(:z, :x, :y), :extent, :buffer, true) AS geom
  FROM tile_point tp
  JOIN project p ON p.id = tp.id
  JOIN project_stage st ON st.code = p.stage
  JOIN district d ON d.code = p.district_code
  LEFT JOIN insurers i ON i.project_id = tp.id
  WHERE (SELECT projects FROM tile_count) <= :max_points
)
-- fid becomes the MVT feature id (for hover state); id stays an attribute
SELECT ST_AsMVT(feature, 'projects', :extent, 'geom', 'fid') AS tile,
       (SELECT projects FROM tile_count) AS projects
FROM feature
WHERE geom IS NOT NULL
