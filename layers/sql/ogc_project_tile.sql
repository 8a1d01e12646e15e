-- The "projects" layer of an OGC API vector tile: one point per project the caller may see
-- (row security narrows project), in the tile matrix set's CRS. {to_crs} and {search} are the
-- code's own SQL for the set (layers/ogc_tiles.py): the point in the set's CRS, and the tile
-- (widened by the buffer) back in EPSG:4326 so that the GiST index on location answers it.
WITH tile_project AS (
  SELECT p.id, p.name, p.permit_no, p.community, p.stage, p.district_code,
         {to_crs} AS point
  FROM project p
  -- the box's ids first (an index scan, by a function that reads the index as its owner):
  -- under row security the planner may not search location's index itself, since && is not
  -- leakproof, and would read every project the caller may see; as an array, so that the
  -- ids are looked up by primary key rather than hashed against every project
  WHERE p.id = ANY (ARRAY(SELECT riskmap_projects_in_box(:west, :south, :east, :north)))
    AND p.location && {search}
), feature AS (
  SELECT tp.id AS fid, tp.id, tp.name, tp.permit_no, tp.community,
         st.name_zh AS stage, d.name AS district,
         (SELECT CAST(g.grade AS text) FROM project_grade g WHERE g.project_id = tp.id
          ORDER BY g.id DESC LIMIT 1) AS grade,
         CAST((SELECT count(*) FROM risk_event e
               WHERE e.project_id = tp.id AND e.status <> 'closed') AS int) AS open_risk_events,
         ST_AsMVTGeom(tp.point, ST_MakeEnvelope(:xmin, :ymin, :xmax, :ymax, :srid),
                      :extent, :buffer, true) AS geom
  FROM tile_project tp
  JOIN project_stage st ON st.code = tp.stage
  JOIN district d ON d.code = tp.district_code
)
SELECT ST_AsMVT(feature, 'projects', :extent, 'geom', 'fid')
FROM feature
WHERE geom IS NOT NULL
