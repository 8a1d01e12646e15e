-- map_project holds all that a regulator's tile draws, in the order of its points on the map
-- (issue 21: z12 tiles at 1.5× tipg's rate over the nation's 1,000,000 projects).

-- 1. The words of a point: its name, permit number, community and insurers. A z12 tile of 300
-- projects spent half its 8 ms joining project, policy, policy_share and organisation to
-- write them; kept here by the writes, a tile reads its rows and nothing else. The insurers
-- as layers/sql/project_points.sql writes them for any tenant (tests/test_map_project.py
-- holds the two tiles equal after any writes).
ALTER TABLE map_project ADD COLUMN name text, ADD COLUMN permit_no text,
  ADD COLUMN community text, ADD COLUMN insurers text;

-- The words of the projects ``pids`` (every project's when NULL) as the store now has them.
CREATE FUNCTION riskmap_label_map_projects(pids int[]) RETURNS void
LANGUAGE sql SECURITY DEFINER SET search_path = public, pg_temp SET jit = off AS $$
  WITH project_insurer AS (
    -- an insurer may hold shares in several of the project's live policies
    SELECT po.project_id, ps.insurer_id, bool_or(ps.is_lead) AS is_lead, max(ps.share) AS share
    FROM policy po JOIN policy_share ps ON ps.policy_id = po.id
    WHERE po.status NOT IN ('returned', 'cancelled')
      AND (pids IS NULL OR po.project_id = ANY(pids))
    GROUP BY po.project_id, ps.insurer_id
  ), insurers AS (
    SELECT pi.project_id,
           string_agg(o.name, '、' ORDER BY pi.is_lead DESC, pi.share DESC, o.name) AS names
    FROM project_insurer pi JOIN organisation o ON o.id = pi.insurer_id
    GROUP BY pi.project_id
  )
  UPDATE map_project m
  SET name = p.name, permit_no = p.permit_no, community = p.community, insurers = i.names
  FROM project p LEFT JOIN insurers i ON i.project_id = p.id
  WHERE p.id = m.project_id AND (pids IS NULL OR m.project_id = ANY(pids))
$$;

-- Every refresh of a project's row writes its words too (the rows themselves: 0010).
ALTER FUNCTION riskmap_refresh_map_projects(int[], date[])
  RENAME TO riskmap_refresh_map_project_rows;
CREATE FUNCTION riskmap_refresh_map_projects(pids int[], days date[] DEFAULT '{}')
RETURNS void LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp
SET jit = off AS $$
BEGIN
  PERFORM riskmap_refresh_map_project_rows(pids, days);
  IF pids IS NOT NULL AND cardinality(pids) > 0 THEN
    PERFORM riskmap_label_map_projects(pids);
  END IF;
END $$;

-- A share taken, changed or given up, and an insurer renamed, change only the words.
CREATE FUNCTION riskmap_map_label_changed() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp SET jit = off AS $$
DECLARE
  ids int[] := '{}';
  more int[];
  side text;
BEGIN
  IF TG_OP = 'TRUNCATE' THEN
    PERFORM riskmap_label_map_projects(NULL);
    RETURN NULL;
  END IF;
  IF TG_TABLE_NAME = 'organisation' THEN
    -- renamed ones only: a new hotline leaves a big insurer's 100,000 points as they are
    SELECT array_agg(DISTINCT po.project_id) INTO ids
    FROM new_rows n JOIN old_rows o ON o.id = n.id AND o.name IS DISTINCT FROM n.name
    JOIN policy_share ps ON ps.insurer_id = n.id JOIN policy po ON po.id = ps.policy_id;
  ELSE
    FOREACH side IN ARRAY CASE TG_OP WHEN 'INSERT' THEN ARRAY['new_rows']
                                     WHEN 'DELETE' THEN ARRAY['old_rows']
                                     ELSE ARRAY['new_rows', 'old_rows'] END LOOP
      -- the transition table names are this file's own, never data
      EXECUTE format('SELECT array_agg(DISTINCT po.project_id) FROM %I r '
                     'JOIN policy po ON po.id = r.policy_id', side) INTO more;
      ids := ids || COALESCE(more, '{}');
    END LOOP;
  END IF;
  IF cardinality(ids) > 0 THEN  -- NULL when no renamed insurer holds a share
    PERFORM riskmap_label_map_projects(ARRAY(SELECT DISTINCT unnest(ids)));
  END IF;
  RETURN NULL;
END $$;

CREATE TRIGGER policy_share_ins_map AFTER INSERT ON policy_share
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION riskmap_map_label_changed();
CREATE TRIGGER policy_share_upd_map AFTER UPDATE ON policy_share
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION riskmap_map_label_changed();
CREATE TRIGGER policy_share_del_map AFTER DELETE ON policy_share
  REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION riskmap_map_label_changed();
CREATE TRIGGER policy_share_trunc_map AFTER TRUNCATE ON policy_share
  FOR EACH STATEMENT EXECUTE FUNCTION riskmap_map_label_changed();
CREATE TRIGGER organisation_upd_map AFTER UPDATE ON organisation
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION riskmap_map_label_changed();

-- 2. In map order. A tile reads the rows of one small box: in the order of the projects' ids,
-- as a load writes them, the 6,000 rows of a dense z12 tile at the nation's 1,000,000
-- projects lay on 2,500 pages; clustered on the GiST index of geom, on a few dozen. The
-- whole-table rebuild (after a bulk load, or a TRUNCATE) writes them so; later writes append
-- out of order until the next rebuild or an operator's `CLUSTER map_project` (README).
ALTER TABLE map_project CLUSTER ON map_project_geom_gix;
ALTER FUNCTION riskmap_rebuild_map_projects() RENAME TO riskmap_rebuild_map_project_rows;
CREATE FUNCTION riskmap_rebuild_map_projects() RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
  PERFORM riskmap_rebuild_map_project_rows();
  PERFORM riskmap_label_map_projects(NULL);
  CLUSTER map_project;
END $$;

SELECT riskmap_label_map_projects(NULL);
CLUSTER map_project;
