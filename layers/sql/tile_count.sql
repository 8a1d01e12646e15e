-- How many projects a point tile holds before it is drawn, for layers/tiles.py: the tile's
-- features are gated on it (WHERE (SELECT projects FROM tile_count) <= :max_points).
, tile_count AS MATERIALIZED (
  -- every project in the tile's box (:count_west, :count_south, :count_east, :count_north, in
  -- degrees), in scope or not: past :max_points the tile holds clusters instead
  -- (layers/tiles.py), and then nothing below is computed (feature is gated on it)
  SELECT count(*) AS projects
  FROM riskmap_projects_in_box(:count_west, :count_south, :count_east, :count_north)
)
