-- The concentration grid: the live policies' exposure (exposure.sql, as "exposure") added up by
-- square cell of :cell_m metres of the city's CGCS2000 Gauss-Krüger zone (:epsg), the grid of
-- the portfolio page (layers/exposure.py by_cell). One row per cell holding any, its square
-- in EPSG:4326. Sums in 万元 (10,000 yuan).
, placed AS (
  SELECT e.project_id, e.gross_yuan, e.own_yuan, e.net_yuan,
         ST_Transform(ST_SetSRID(ST_MakePoint(e.lon, e.lat), 4326), CAST(:epsg AS int)) AS xy
  FROM exposure e
), celled AS (
  SELECT floor(ST_X(xy) / :cell_m) AS i, floor(ST_Y(xy) / :cell_m) AS j, project_id,
         gross_yuan, own_yuan, net_yuan
  FROM placed
)
SELECT CAST(i AS bigint) || '_' || CAST(j AS bigint) AS cell, CAST(:cell_m AS int) AS cell_m,
       CAST(count(DISTINCT project_id) AS int) AS projects, CAST(count(*) AS int) AS policies,
       CAST(sum(gross_yuan) / 10000 AS float8) AS gross_wan,
       CAST(sum(own_yuan) / 10000 AS float8) AS own_wan,
       CAST(sum(net_yuan) / 10000 AS float8) AS net_wan,
       ST_Transform(ST_MakeEnvelope(i * :cell_m, j * :cell_m, (i + 1) * :cell_m,
                                    (j + 1) * :cell_m, CAST(:epsg AS int)), 4326) AS geom
FROM celled
GROUP BY i, j
