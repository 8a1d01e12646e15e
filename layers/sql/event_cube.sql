-- The risk events of stat_event (stats_base.sql) counted by every column the statistics group
-- or filter them by (layers/statistics.py, EVENT_CUBE): counted by their codes first and named
-- after, because joining and hashing the names of every event (1.7 million at 200,000
-- projects) cost more than reading them. Equal to grouping stat_event by its named columns,
-- which tests/test_statistics.py holds it to.
, event_cube AS (
  SELECT COALESCE(oi.short_name, oi.name, op.short_name, op.name, '未指定') AS tis_name,
         c.name_zh AS category_zh, s.name_zh AS severity_zh, st.name_zh AS status_zh,
         g.severity, g.status, g.overdue, g.found_on, sum(g.n) AS n
  FROM (
    -- an event counts for the TIS whose inspection found it, else the project's TIS
    SELECT i.tis_id AS finder_tis_id, p.tis_id AS project_tis_id, e.category, e.severity,
           e.status, (e.status <> 'closed' AND e.due_on < k.today) AS overdue,
           date_trunc('month', e.found_on)::date AS found_on, count(*) AS n
    FROM risk_event e JOIN tis_project p ON p.id = e.project_id
    LEFT JOIN inspection i ON i.id = e.inspection_id
    CROSS JOIN clock k
    WHERE (CAST(:date_from AS date) IS NULL OR e.found_on >= :date_from)
      AND (CAST(:date_to AS date) IS NULL OR e.found_on <= :date_to)
    GROUP BY 1, 2, 3, 4, 5, 6, 7
  ) g
  JOIN risk_category c ON c.code = g.category
  JOIN risk_severity s ON s.code = g.severity
  JOIN risk_event_status st ON st.code = g.status
  LEFT JOIN organisation oi ON oi.id = g.finder_tis_id
  LEFT JOIN organisation op ON op.id = g.project_tis_id
  GROUP BY 1, 2, 3, 4, 5, 6, 7, 8
)
