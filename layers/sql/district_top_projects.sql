-- A district's projects ranked by quality grade (D first, ungraded last; geo/grades.py), then
-- by risk: severity-weighted open risk events, then all events.
, events AS (
  SELECT e.project_id,
         sum(w.weight) FILTER (WHERE e.status <> 'closed') AS open_weight,
         count(*) FILTER (WHERE e.status <> 'closed') AS open_risk_events,
         count(*) FILTER (WHERE e.severity = 'severe') AS severe_risk_events,
         count(*) AS risk_events
  FROM risk_event e JOIN risk_severity w ON w.code = e.severity
  WHERE (CAST(:date_from AS date) IS NULL OR e.found_on >= :date_from)
    AND (CAST(:date_to AS date) IS NULL OR e.found_on <= :date_to)
  GROUP BY e.project_id
)
SELECT p.id, p.name, p.permit_no, s.name_zh AS stage, g.grade,
       COALESCE(ev.open_risk_events, 0) AS open_risk_events,
       COALESCE(ev.severe_risk_events, 0) AS severe_risk_events,
       COALESCE(ev.risk_events, 0) AS risk_events
FROM scoped_project p
JOIN project_stage s ON s.code = p.stage
LEFT JOIN events ev ON ev.project_id = p.id
LEFT JOIN LATERAL (SELECT pg.grade FROM project_grade pg WHERE pg.project_id = p.id
                   ORDER BY pg.id DESC LIMIT 1) g ON true
WHERE p.district_code = :code
ORDER BY g.grade DESC NULLS LAST, COALESCE(ev.open_weight, 0) DESC,
         COALESCE(ev.risk_events, 0) DESC, p.id
LIMIT :limit
