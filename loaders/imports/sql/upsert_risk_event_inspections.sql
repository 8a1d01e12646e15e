-- An event given with its TIS and stage belongs to that TIS's inspection of the project at that
-- stage on the day the event was found: create the inspection when the store has none (once,
-- however many events of the file it found). Events without both stay unlinked.
INSERT INTO inspection (project_id, tis_id, stage, inspected_on)
SELECT DISTINCT p.id, o.id, s.stage, s.found_on
FROM stage_risk_event s
JOIN project p ON p.permit_no = s.permit_no
JOIN organisation o ON o.name = s.tis AND o.kind = 'tis'
WHERE s.stage IS NOT NULL
  AND NOT EXISTS (SELECT 1 FROM inspection i
                  WHERE i.project_id = p.id AND i.tis_id = o.id AND i.stage = s.stage
                    AND i.inspected_on = s.found_on)
