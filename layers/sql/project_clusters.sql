-- The projects of a cluster tile as a tenant's scope has them (follows scope.sql and
-- period_project.sql; cluster_cells.sql makes the tile): tile_member in Web Mercator.
, tile_member AS (
  SELECT p.id, p.gross_floor_area_m2, ST_Transform(p.location, 3857) AS geom,
         (SELECT count(*) FROM risk_event e
           WHERE e.project_id = p.id AND e.status <> 'closed') AS open_risk_events
  FROM period_project p
  -- a slightly wider box in 4326 uses the GiST index (the exact cell test follows);
  -- clipped to the world, since past the antimeridian it would wrap round
  WHERE p.location && ST_Transform(ST_ClipByBox2D(
    ST_TileEnvelope(:z, :x, :y, margin => :margin), ST_TileEnvelope(0, 0, 0)), 4326)
)
