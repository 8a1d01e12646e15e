-- Heat of risk events (follows scope.sql): the events found in the period, at their projects
-- inside the view's box (:west/:south/:east/:north, NULL for all), weighted by severity
-- (risk_severity.weight) and summed in grid cells of :cell degrees; at most :limit cells.
, heat_point AS (
  SELECT p.location, CAST(s.weight AS float8) AS weight
  FROM risk_event e
  JOIN scoped_project p ON p.id = e.project_id
  JOIN risk_severity s ON s.code = e.severity
  WHERE (CAST(:date_from AS date) IS NULL OR e.found_on >= :date_from)
    AND (CAST(:date_to AS date) IS NULL OR e.found_on <= :date_to)
    AND (CAST(:west AS float8) IS NULL
         OR p.location && ST_MakeEnvelope(:west, :south, :east, :north, 4326))
)
SELECT round(CAST(avg(ST_Y(location)) AS numeric), 5) AS lat,
       round(CAST(avg(ST_X(location)) AS numeric), 5) AS lon,
       sum(weight) AS weight, count(*) AS events
FROM heat_point
GROUP BY floor(ST_X(location) / :cell), floor(ST_Y(location) / :cell)
ORDER BY 1, 2
LIMIT :limit
