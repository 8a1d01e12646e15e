-- The "projects" layer of a vector tile: one point per project of tile_point (in Web
-- Mercator, with its open risk events, claims and grade) with its insurers' names.
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
)
-- fid becomes the MVT feature id (for hover state); id stays an attribute
SELECT ST_AsMVT(feature, 'projects', :extent, 'geom', 'fid')
FROM feature
WHERE geom IS NOT NULL
