-- The OGC API collection "risk_events": each risk event the caller may see, at its project.
-- The free-text description is left out: it may name people on site.
SELECT e.id, e.event_no, e.project_id, p.name AS project_name,
       trim(p.district_code) AS district_code,
       e.category, c.name_zh AS category_zh, e.severity, s.name_zh AS severity_zh,
       e.status, es.name_zh AS status_zh, e.found_on, e.due_on, e.closed_on,
       p.location AS geom
FROM risk_event e
JOIN project p ON p.id = e.project_id
JOIN risk_category c ON c.code = e.category
JOIN risk_severity s ON s.code = e.severity
JOIN risk_event_status es ON es.code = e.status
