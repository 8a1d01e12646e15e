-- The cells of a heat map (after heat_risk_events.sql or heat_claims.sql, whose heat_point
-- gives each place x, y (degrees), weight and events): summed in cells of :cell degrees, or
-- of 2, 4, 8… times that, the finest with at most :max_cells cells — chosen in this one
-- query rather than by asking again with wider cells (each time re-reading the programme).
-- Cells of 2^k :cell are the cells of :cell grouped k times by two: floor(floor(x/c)/2^k)
-- is floor(x/(2^k c)), also in floating point, as halving is exact.
, heat_fine AS (
  SELECT floor(x / :cell) AS i, floor(y / :cell) AS j, sum(x * events) AS sx,
         sum(y * events) AS sy, sum(weight) AS weight, sum(events) AS events
  FROM heat_point GROUP BY 1, 2
), heat_level AS (
  SELECT COALESCE(min(k), 30) AS k FROM (
    SELECT k FROM heat_fine CROSS JOIN generate_series(0, 30) k
    GROUP BY k HAVING count(DISTINCT (floor(i / 2 ^ k), floor(j / 2 ^ k))) <= :max_cells
  ) fits
), heat_cell AS (
  -- a cell's place: the mean of its events' places
  SELECT sum(sy) / sum(events) AS lat, sum(sx) / sum(events) AS lon, sum(weight) AS weight,
         sum(events) AS events
  FROM heat_fine CROSS JOIN heat_level l
  GROUP BY floor(i / 2 ^ l.k), floor(j / 2 ^ l.k)
)
