-- Insert new events, update changed ones, leave identical ones untouched (so a re-import is a
-- no-op); returns how many were inserted and updated. Where the store holds several matching
-- inspections, the first is taken, so the same file always links the same one.
WITH incoming AS (
  SELECT s.event_no, p.id AS project_id,
         (SELECT min(i.id) FROM inspection i JOIN organisation o ON o.id = i.tis_id
          WHERE i.project_id = p.id AND o.name = s.tis AND o.kind = 'tis'
            AND i.stage = s.stage AND i.inspected_on = s.found_on) AS inspection_id,
         s.category, s.severity, s.status, s.description, s.location_in_building,
         s.found_on, s.due_on, s.closed_on
  FROM stage_risk_event s
  JOIN project p ON p.permit_no = s.permit_no
), written AS (
  INSERT INTO risk_event AS e (event_no, project_id, inspection_id, category, severity, status,
    description, location_in_building, found_on, due_on, closed_on)
  SELECT * FROM incoming
  ON CONFLICT (event_no) DO UPDATE SET
    project_id = EXCLUDED.project_id, inspection_id = EXCLUDED.inspection_id,
    category = EXCLUDED.category, severity = EXCLUDED.severity, status = EXCLUDED.status,
    description = EXCLUDED.description, location_in_building = EXCLUDED.location_in_building,
    found_on = EXCLUDED.found_on, due_on = EXCLUDED.due_on, closed_on = EXCLUDED.closed_on
  WHERE (e.project_id, e.inspection_id, e.category, e.severity, e.status, e.description,
         e.location_in_building, e.found_on, e.due_on, e.closed_on)
    IS DISTINCT FROM
        (EXCLUDED.project_id, EXCLUDED.inspection_id, EXCLUDED.category, EXCLUDED.severity,
         EXCLUDED.status, EXCLUDED.description, EXCLUDED.location_in_building,
         EXCLUDED.found_on, EXCLUDED.due_on, EXCLUDED.closed_on)
  RETURNING (xmax = 0) AS inserted
)
SELECT count(*) FILTER (WHERE inserted) AS inserted,
       count(*) FILTER (WHERE NOT inserted) AS updated
FROM written
