-- A district's open severe risk events, after scope.sql and stats_base.sql; longest overdue first.
SELECT e.event_no, p.name AS project, e.category_zh AS category, e.status_zh AS status,
       e.location_in_building, e.tis_name AS tis, e.found_on, e.due_on,
       GREATEST(k.today - e.due_on, 0) AS overdue_days
FROM stat_event e JOIN project p ON p.id = e.project_id CROSS JOIN clock k
WHERE e.district_code = :code AND e.severity = 'severe' AND e.status <> 'closed'
ORDER BY e.due_on NULLS LAST, e.event_no
