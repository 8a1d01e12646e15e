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

-- Recompute the rows of the projects ``pids``: each one's row as the store now has it, or none.
CREATE FUNCTION riskmap_refresh_map_projects(pids int[]) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
  IF pids IS NULL OR cardinality(pids) = 0 THEN
    RETURN;
  END IF;
  -- writers of the same projects take turns, and each statement below reads with a snapshot
  -- taken after the other's commit: the last to write a project computes it from both
  IF cardinality(pids) > 1000 THEN
    LOCK TABLE map_project IN EXCLUSIVE MODE;  -- a bulk import: per-project locks would run out
  ELSE
    PERFORM pg_advisory_xact_lock(1296387152, id) FROM unnest(pids) id ORDER BY id;
  END IF;
  DELETE FROM map_project WHERE project_id IN (SELECT unnest(pids));
  INSERT INTO map_project
  SELECT p.id, p.district_code, p.stage, ST_Transform(p.location, 3857), p.gross_floor_area_m2,
         (SELECT count(*) FROM risk_event e WHERE e.project_id = p.id AND e.status <> 'closed'),
         (SELECT count(*) FROM policy po JOIN claim c ON c.policy_id = po.id
          WHERE po.project_id = p.id AND po.status NOT IN ('returned', 'cancelled')),
         (SELECT g.grade FROM project_grade g WHERE g.project_id = p.id ORDER BY g.id DESC LIMIT 1)
  FROM project p
  WHERE p.id IN (SELECT unnest(pids))
    AND EXISTS (SELECT 1 FROM policy po WHERE po.project_id = p.id
                AND po.status NOT IN ('returned', 'cancelled'));
END $$;

-- Every row again, as after a TRUNCATE or a bulk load with the triggers off (loaders/demo_load.py).
CREATE FUNCTION riskmap_rebuild_map_projects() RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
  LOCK TABLE map_project IN EXCLUSIVE MODE;
  TRUNCATE map_project;
  PERFORM riskmap_refresh_map_projects(ARRAY(SELECT id FROM project));
END $$;

-- The statement-level trigger: TG_ARGV[0] names the column that leads to the project
-- ('id' of a project, 'project_id', or 'policy_id' through the policy).
CREATE FUNCTION riskmap_map_project_changed() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
  ids int[] := '{}';
  more int[];
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
  PERFORM riskmap_refresh_map_projects(ARRAY(SELECT DISTINCT unnest(ids)));
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

SELECT riskmap_rebuild_map_projects();
