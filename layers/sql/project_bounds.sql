-- The extent of the projects in scope (follows scope.sql and period_project.sql); NULLs if none.
SELECT ST_XMin(e.box) AS west, ST_YMin(e.box) AS south,
       ST_XMax(e.box) AS east, ST_YMax(e.box) AS north
FROM (SELECT ST_Extent(p.location) AS box FROM period_project p) e
