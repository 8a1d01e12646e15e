-- Heat-map points of risk events (follows scope.sql): one per event found in the period,
-- at its project, weighted by its severity (risk_severity.weight).
SELECT round(CAST(ST_Y(p.location) AS numeric), 6) AS lat,
       round(CAST(ST_X(p.location) AS numeric), 6) AS lon,
       CAST(s.weight AS float8) AS weight
FROM risk_event e
JOIN scoped_project p ON p.id = e.project_id
JOIN risk_severity s ON s.code = e.severity
WHERE (CAST(:date_from AS date) IS NULL OR e.found_on >= :date_from)
  AND (CAST(:date_to AS date) IS NULL OR e.found_on <= :date_to)
ORDER BY e.id
