-- Rebuilding the kept summaries of the whole programme (after a bulk load with the triggers
-- off, loaders/demo_load.py) in plain statements over whole tables. Through
-- riskmap_refresh_map_projects with every project's id, the nation's 1,000,000 projects took
-- more than 15 minutes: every step carried a million ids; its district days alone, through
-- riskmap_refresh_district_days with every district and day, take 137 s where this whole
-- rebuild takes 66 s. So the days' sums are written here again, as the same rows as that
-- function's for every project (tests/test_map_project.py holds the two equal).
CREATE OR REPLACE FUNCTION riskmap_rebuild_map_projects() RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp SET jit = off AS $$
BEGIN
  LOCK TABLE map_project, district_day IN EXCLUSIVE MODE;
  TRUNCATE map_project, district_day;
  WITH live AS (
    SELECT id, project_id FROM policy WHERE status NOT IN ('returned', 'cancelled')
  ), open_events AS (
    SELECT project_id, count(*) AS n FROM risk_event WHERE status <> 'closed'
    GROUP BY project_id
  ), claims AS (
    SELECT l.project_id, count(*) AS n FROM live l JOIN claim c ON c.policy_id = l.id
    GROUP BY l.project_id
  ), grades AS (
    SELECT DISTINCT ON (project_id) project_id, grade FROM project_grade
    ORDER BY project_id, id DESC
  )
  INSERT INTO map_project
  SELECT p.id, p.district_code, p.stage, ST_Transform(p.location, 3857), p.gross_floor_area_m2,
         COALESCE(oe.n, 0), COALESCE(cl.n, 0), gr.grade
  FROM project p
  LEFT JOIN open_events oe ON oe.project_id = p.id
  LEFT JOIN claims cl ON cl.project_id = p.id
  LEFT JOIN grades gr ON gr.project_id = p.id
  WHERE p.id IN (SELECT project_id FROM live);

  INSERT INTO district_day
  SELECT district_code, day, sum(premium), sum(insured), sum(cost), sum(area), sum(events),
         sum(severe), sum(open), sum(closed)
  FROM (
    SELECT p.district_code, po.issue_date AS day, po.premium_yuan AS premium,
           po.sum_insured_yuan AS insured, p.construction_cost_yuan AS cost,
           p.gross_floor_area_m2 AS area, 0 AS events, 0 AS severe, 0 AS open, 0 AS closed
    FROM policy po JOIN project p ON p.id = po.project_id
    WHERE po.status NOT IN ('returned', 'cancelled')
    UNION ALL
    SELECT p.district_code, e.found_on, 0, 0, 0, 0, 1, (e.severity = 'severe')::int,
           (e.status <> 'closed')::int, (e.status = 'closed')::int
    FROM risk_event e JOIN project p ON p.id = e.project_id
    WHERE e.project_id IN (SELECT project_id FROM map_project)
  ) r
  GROUP BY district_code, day;
END $$;
