-- The "projects" layer of a regulator's vector tile from map_project_tile.sql's tile_point:
-- the same features as project_points.sql's, read from the row instead of joined.
, feature AS (
  SELECT tp.id AS fid, tp.id, tp.name, tp.permit_no, tp.community,
         st.name_zh AS stage, d.name AS district, tp.insurers,
         CAST(tp.open_risk_events AS int) AS open_risk_events,
         CAST(tp.claims AS int) AS claims, tp.grade::text AS grade,
         ST_AsMVTGeom(tp.geom, ST_TileEnvelope(:z, :x, :y), :extent, :buffer, true) AS geom
  FROM tile_point tp
  JOIN project_stage st ON st.code = tp.stage
  JOIN district d ON d.code = tp.district_code
  WHERE (SELECT projects FROM tile_count) <= :max_points
)
SELECT ST_AsMVT(feature, 'projects', :extent, 'geom', 'fid') AS tile,
       (SELECT projects FROM tile_count) AS projects
FROM feature
WHERE geom IS NOT NULL
