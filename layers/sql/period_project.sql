-- Continues scope.sql for the map layers that place projects: the scoped policies issued in
-- the period [:date_from, :date_to] (either end may be NULL), and the projects with any.
, period_policy AS (
  SELECT sp.id, sp.project_id
  FROM scoped_policy sp
  WHERE (CAST(:date_from AS date) IS NULL OR sp.issue_date >= :date_from)
    AND (CAST(:date_to AS date) IS NULL OR sp.issue_date <= :date_to)
), period_project AS (
  -- IN with OFFSET 0 fences the planner off a nested loop that grew with projects squared
  SELECT p.*
  FROM scoped_project p
  WHERE p.id IN (SELECT DISTINCT project_id FROM period_policy OFFSET 0)
)
