-- The "concentration" layer of an OGC API vector tile: the concentration grid's cells (the
-- source below is concentration_cells.sql, read as the caller and narrowed to the tile's box
-- widened by a cell and a half, so that every cell the tile shows holds all its policies), in
-- the tile matrix set's CRS (the code's own SQL for the set, layers/ogc_tiles.py).
SELECT ST_AsMVT(feature, 'concentration', :extent, 'geom')
FROM (
  SELECT c.cell, c.cell_m, c.projects, c.policies, c.gross_wan, c.own_wan, c.net_wan,
         ST_AsMVTGeom({to_crs}, ST_MakeEnvelope(:xmin, :ymin, :xmax, :ymax, :srid),
                      :extent, :buffer, true) AS geom
  FROM ({source}) c
) feature
WHERE geom IS NOT NULL
