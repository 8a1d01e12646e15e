-- Heat of risk events (follows scope.sql; heat_cells.sql follows it): the events found in the
-- period, at their projects inside the view's box (:west/:south/:east/:north, NULL for all),
-- weighted by severity (risk_severity.weight). Counted by project first: a city's 1.7 million
-- events stand at 200,000 places, and reading a place once per event cost most of the time.
, heat_project AS (
  SELECT e.project_id, sum(CAST(s.weight AS float8)) AS weight, count(*) AS events
  FROM risk_event e
  JOIN risk_severity s ON s.code = e.severity
  WHERE (CAST(:date_from AS date) IS NULL OR e.found_on >= :date_from)
    AND (CAST(:date_to AS date) IS NULL OR e.found_on <= :date_to)
  GROUP BY e.project_id
), heat_point AS (
  SELECT ST_X(p.location) AS x, ST_Y(p.location) AS y, h.weight, h.events
  FROM heat_project h
  JOIN scoped_project p ON p.id = h.project_id
  WHERE CAST(:west AS float8) IS NULL
     OR p.location && ST_MakeEnvelope(:west, :south, :east, :north, 4326)
)
