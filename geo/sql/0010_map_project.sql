-- The projects on the map, kept current by the writes themselves (issue 16). A tile of the
-- whole programme as the regulator sees it (no insurer, TIS or period filter) read every live
-- policy to find which projects to draw: at 200,000 projects a z8 tile took seconds. Here is one
-- row per project with a live policy (not returned or cancelled), with what a tile draws that
-- is not the project's own columns; every statement that changes one of those figures
-- recomputes the rows of the projects it touched, in its own transaction, so the table always
-- equals the on-the-fly query (tests/test_map_project.py holds the two equal).
-- Not readable by the web role: riskmap_map_projects_in_box answers only a caller who sees the
-- whole programme (a reader's own "geom && box" under row security could not use the index).
CREATE TABLE map_project (
  project_id int PRIMARY KEY,
  district_code char(6) NOT NULL,
  stage text NOT NULL,
  geom geometry(Point, 3857) NOT NULL,
  gross_floor_area_m2 numeric(12, 2) NOT NULL,
  open_risk_events int NOT NULL,
  claims int NOT NULL,                  -- claims on the project's live policies
  grade char(1)                         -- the latest grade (geo/grades.py), if any
);
CREATE INDEX map_project_geom_gix ON map_project USING gist (geom);

-- The district layers' written and risk figures per district and day, for the same caller (the
-- whole programme, no insurer, TIS or stage filter): policies in force by issue day at full
-- share, risk events of projects with a policy in force by the day found. Sums over any
-- period's days give the on-the-fly aggregate exactly (layers/sql/district_metrics.sql);
-- the days a write touches are recomputed with map_project, in the writing transaction.
CREATE TABLE district_day (
  district_code char(6) NOT NULL,
  day date NOT NULL,
  premium_yuan numeric NOT NULL,
  sum_insured_yuan numeric NOT NULL,
  rated_cost_yuan numeric NOT NULL,   -- the projects' construction cost, once per policy
  rated_area_m2 numeric NOT NULL,     -- their gross floor area, once per policy
  risk_events int NOT NULL,
  severe_risk_events int NOT NULL,
  open_risk_events int NOT NULL,
  closed_risk_events int NOT NULL,
  PRIMARY KEY (district_code, day)
);

-- Recompute the days ``days`` of the districts ``codes``.
CREATE FUNCTION riskmap_refresh_district_days(codes text[], days date[]) RETURNS void
LANGUAGE sql SECURITY DEFINER SET search_path = public, pg_temp SET jit = off AS $$
  DELETE FROM district_day
  WHERE district_code IN (SELECT unnest(codes)) AND day IN (SELECT unnest(days));
  INSERT INTO district_day
  SELECT district_code, day, sum(premium), sum(insured), sum(cost), sum(area), sum(events),
         sum(severe), sum(open), sum(closed)
  FROM (
    SELECT p.district_code, po.issue_date AS day, po.premium_yuan AS premium,
           po.sum_insured_yuan AS insured, p.construction_cost_yuan AS cost,
           p.gross_floor_area_m2 AS area, 0 AS events, 0 AS severe, 0 AS open, 0 AS closed
    FROM policy po JOIN project p ON p.id = po.project_id
    WHERE p.district_code IN (SELECT unnest(codes)) AND po.issue_date IN (SELECT unnest(days))
      AND po.status NOT IN ('returned', 'cancelled')
    UNION ALL
    SELECT p.district_code, e.found_on, 0, 0, 0, 0, 1, (e.severity = 'severe')::int,
           (e.status <> 'closed')::int, (e.status = 'closed')::int
    FROM risk_event e JOIN project p ON p.id = e.project_id
    WHERE p.district_code IN (SELECT unnest(codes)) AND e.found_on IN (SELECT unnest(days))
      AND EXISTS (SELECT 1 FROM policy po WHERE po.project_id = p.id
                  AND po.status NOT IN ('returned', 'cancelled'))
  ) r
  GROUP BY district_code, day
$$;

-- Recompute what the projects ``pids`` give the map: each one's row of map_project as the
-- store now has it (or none), and the district days its policies and risk events fall on, with
-- ``days`` (the days the statement's rows had before it: a moved date leaves a day behind).
CREATE FUNCTION riskmap_refresh_map_projects(pids int[], days date[] DEFAULT '{}')
RETURNS void LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp
SET jit = off AS $$
DECLARE
  locked text[] := '{}';
  codes text[];
BEGIN
  IF pids IS NULL OR cardinality(pids) = 0 THEN
    RETURN;
  END IF;
  -- writers of the same districts take turns, and each statement below reads with a snapshot
  -- taken after the other's commit: the last to write a project computes it from both. The
  -- districts a project was and is in (a move is locked on both sides), until none is new.
  IF cardinality(pids) > 1000 THEN
    -- a bulk import: it would lock most districts anyway
    LOCK TABLE map_project, district_day IN EXCLUSIVE MODE;
  END IF;
  LOOP
    codes := ARRAY(SELECT DISTINCT c FROM (
        SELECT district_code::text AS c FROM map_project WHERE project_id IN (SELECT unnest(pids))
        UNION SELECT district_code::text FROM project WHERE id IN (SELECT unnest(pids))) d
      WHERE c <> ALL(locked) ORDER BY c);
    EXIT WHEN cardinality(codes) = 0;
    PERFORM pg_advisory_xact_lock(1296387152, hashtext(c)) FROM unnest(codes) c ORDER BY c;
    locked := locked || codes;
  END LOOP;
  DELETE FROM map_project WHERE project_id IN (SELECT unnest(pids));
  -- set-wise, so that a bulk write joins by hash and a single one by index
  WITH ids AS (
    SELECT DISTINCT unnest(pids) AS id
  ), live AS (
    SELECT po.id, po.project_id FROM policy po JOIN ids ON ids.id = po.project_id
    WHERE po.status NOT IN ('returned', 'cancelled')
  ), open_events AS (
    SELECT e.project_id, count(*) AS n FROM risk_event e JOIN ids ON ids.id = e.project_id
    WHERE e.status <> 'closed' GROUP BY e.project_id
  ), claims AS (
    SELECT l.project_id, count(*) AS n FROM live l JOIN claim c ON c.policy_id = l.id
    GROUP BY l.project_id
  ), grades AS (
    SELECT DISTINCT ON (g.project_id) g.project_id, g.grade
    FROM project_grade g JOIN ids ON ids.id = g.project_id ORDER BY g.project_id, g.id DESC
  )
  INSERT INTO map_project
  SELECT p.id, p.district_code, p.stage, ST_Transform(p.location, 3857), p.gross_floor_area_m2,
         COALESCE(oe.n, 0), COALESCE(cl.n, 0), gr.grade
  FROM project p JOIN ids ON ids.id = p.id
  LEFT JOIN open_events oe ON oe.project_id = p.id
  LEFT JOIN claims cl ON cl.project_id = p.id
  LEFT JOIN grades gr ON gr.project_id = p.id
  WHERE p.id IN (SELECT project_id FROM live);
  PERFORM riskmap_refresh_district_days(locked, ARRAY(
    SELECT unnest(days)
    UNION SELECT po.issue_date FROM policy po WHERE po.project_id IN (SELECT unnest(pids))
    UNION SELECT e.found_on FROM risk_event e WHERE e.project_id IN (SELECT unnest(pids))));
END $$;

-- Every row again, as after a TRUNCATE or a bulk load with the triggers off (loaders/demo_load.py).
CREATE FUNCTION riskmap_rebuild_map_projects() RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
  LOCK TABLE map_project, district_day IN EXCLUSIVE MODE;
  TRUNCATE map_project, district_day;
  PERFORM riskmap_refresh_map_projects(ARRAY(SELECT id FROM project));
END $$;

-- The statement-level trigger: TG_ARGV[0] names the column that leads to the project
-- ('id' of a project, 'project_id', or 'policy_id' through the policy).
CREATE FUNCTION riskmap_map_project_changed() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp SET jit = off AS $$
DECLARE
  ids int[] := '{}';
  more int[];
  days date[] := '{}';
  side text;
BEGIN
  IF TG_OP = 'TRUNCATE' THEN
    PERFORM riskmap_rebuild_map_projects();
    RETURN NULL;
  END IF;
  FOREACH side IN ARRAY CASE TG_OP WHEN 'INSERT' THEN ARRAY['new_rows']
                                   WHEN 'DELETE' THEN ARRAY['old_rows']
                                   ELSE ARRAY['new_rows', 'old_rows'] END LOOP
    -- the column and transition table names are this file's own, never data
    IF TG_ARGV[0] = 'policy_id' THEN
      EXECUTE format('SELECT array_agg(DISTINCT po.project_id) FROM %I r '
                     'JOIN policy po ON po.id = r.policy_id', side) INTO more;
    ELSE
      EXECUTE format('SELECT array_agg(DISTINCT r.%I) FROM %I r', TG_ARGV[0], side) INTO more;
    END IF;
    ids := ids || COALESCE(more, '{}');
  END LOOP;
  -- the days a changed policy or risk event was on before (its days now are found anyway)
  IF TG_OP <> 'INSERT' AND TG_TABLE_NAME IN ('policy', 'risk_event') THEN
    EXECUTE format('SELECT array_agg(DISTINCT r.%I) FROM old_rows r',
                   CASE TG_TABLE_NAME WHEN 'policy' THEN 'issue_date' ELSE 'found_on' END)
      INTO days;
  END IF;
  PERFORM riskmap_refresh_map_projects(ARRAY(SELECT DISTINCT unnest(ids)),
                                       COALESCE(days, '{}'));
  RETURN NULL;
END $$;

DO $$
DECLARE
  t record;
BEGIN
  FOR t IN SELECT * FROM (VALUES ('project', 'id'), ('policy', 'project_id'),
                                 ('risk_event', 'project_id'), ('project_grade', 'project_id'),
                                 ('claim', 'policy_id')) v(name, col) LOOP
    EXECUTE format('CREATE TRIGGER %I AFTER INSERT ON %I REFERENCING NEW TABLE AS new_rows '
                   'FOR EACH STATEMENT EXECUTE FUNCTION riskmap_map_project_changed(%L)',
                   t.name || '_ins_map', t.name, t.col);
    EXECUTE format('CREATE TRIGGER %I AFTER UPDATE ON %I REFERENCING OLD TABLE AS old_rows '
                   'NEW TABLE AS new_rows FOR EACH STATEMENT '
                   'EXECUTE FUNCTION riskmap_map_project_changed(%L)',
                   t.name || '_upd_map', t.name, t.col);
    EXECUTE format('CREATE TRIGGER %I AFTER DELETE ON %I REFERENCING OLD TABLE AS old_rows '
                   'FOR EACH STATEMENT EXECUTE FUNCTION riskmap_map_project_changed(%L)',
                   t.name || '_del_map', t.name, t.col);
    EXECUTE format('CREATE TRIGGER %I AFTER TRUNCATE ON %I FOR EACH STATEMENT '
                   'EXECUTE FUNCTION riskmap_map_project_changed(%L)',
                   t.name || '_trunc_map', t.name, t.col);
  END LOOP;
END $$;

-- The rows inside a box in Web Mercator metres, for a caller who sees the whole programme;
-- nothing for anyone else (their tiles go through row security, layers/tiles.py).
CREATE FUNCTION riskmap_map_projects_in_box(west float8, south float8, east float8, north float8)
RETURNS SETOF map_project LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = public, pg_temp ROWS 1000 AS $$
  SELECT m.* FROM map_project m
  WHERE (SELECT riskmap_sees_all()) AND m.geom && ST_MakeEnvelope(west, south, east, north, 3857)
$$;

-- Each district's sums over the days [date_from, date_to] (either end may be NULL), for a caller
-- who sees the whole programme; nothing for anyone else.
CREATE FUNCTION riskmap_district_days(city text, date_from date, date_to date)
RETURNS TABLE (district_code char(6), premium_yuan numeric, sum_insured_yuan numeric,
               rated_cost_yuan numeric, rated_area_m2 numeric, risk_events bigint,
               severe_risk_events bigint, open_risk_events bigint, closed_risk_events bigint)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
  SELECT dd.district_code, sum(dd.premium_yuan), sum(dd.sum_insured_yuan),
         sum(dd.rated_cost_yuan), sum(dd.rated_area_m2), sum(dd.risk_events),
         sum(dd.severe_risk_events), sum(dd.open_risk_events), sum(dd.closed_risk_events)
  FROM district_day dd JOIN district d ON d.code = dd.district_code
  WHERE (SELECT riskmap_sees_all()) AND d.city_code = city
    AND (date_from IS NULL OR dd.day >= date_from) AND (date_to IS NULL OR dd.day <= date_to)
  GROUP BY dd.district_code
$$;

SELECT riskmap_rebuild_map_projects();
