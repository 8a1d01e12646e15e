-- Fast at a city's scale (issue 16). Answers are now kept in the shared store by data version
-- (webmap/caching.py), so every table an answer reads must move the version when it changes,
-- not only the programme's core tables (0001): a new complaint, grade, limit or rule changes
-- district layers, the portfolio and the statistics as surely as a new policy does.
DO $$
DECLARE
  t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['programme_rule', 'exposure_limit', 'lifecycle_step', 'document',
    'risk_management', 'claim_dispute', 'claim_subrogation', 'project_grade', 'tis_grade',
    'service_rating', 'complaint', 'other_policy', 'layer_publication_step', 'published_value',
    'published_contribution'] LOOP
    EXECUTE format('CREATE TRIGGER %I AFTER INSERT ON %I REFERENCING NEW TABLE AS changed '
                   'FOR EACH STATEMENT EXECUTE FUNCTION bump_data_version()', t || '_ins_bump', t);
    EXECUTE format('CREATE TRIGGER %I AFTER UPDATE ON %I REFERENCING NEW TABLE AS changed '
                   'FOR EACH STATEMENT EXECUTE FUNCTION bump_data_version()', t || '_upd_bump', t);
    EXECUTE format('CREATE TRIGGER %I AFTER DELETE ON %I REFERENCING OLD TABLE AS changed '
                   'FOR EACH STATEMENT EXECUTE FUNCTION bump_data_version()', t || '_del_bump', t);
    EXECUTE format('CREATE TRIGGER %I AFTER TRUNCATE ON %I FOR EACH STATEMENT '
                   'EXECUTE FUNCTION bump_data_version_always()', t || '_trunc_bump', t);
  END LOOP;
END $$;

-- Row security at the cost of what is shown: the tenant's functions (riskmap_sees_all,
-- riskmap_role, riskmap_org) are SECURITY DEFINER, so the planner cannot inline them and ran
-- them once per row read (a regulator's district layer called riskmap_sees_all() about a
-- million times at 20,000 projects). As scalar subqueries they are InitPlans: run once per
-- query, same answers. Every policy is rewritten alike, so none is missed.
DO $$
DECLARE
  p record;
  fix CONSTANT text := '(riskmap_(sees_all|role|org))\(\)';
BEGIN
  FOR p IN SELECT tablename, policyname, cmd, qual, with_check FROM pg_policies
           WHERE schemaname = 'public' LOOP
    IF p.qual IS NOT NULL AND p.qual ~ fix THEN
      EXECUTE format('ALTER POLICY %I ON %I USING (%s)', p.policyname, p.tablename,
                     regexp_replace(p.qual, fix, '(SELECT \1())', 'g'));
    END IF;
    IF p.with_check IS NOT NULL AND p.with_check ~ fix THEN
      EXECUTE format('ALTER POLICY %I ON %I WITH CHECK (%s)', p.policyname, p.tablename,
                     regexp_replace(p.with_check, fix, '(SELECT \1())', 'g'));
    END IF;
  END LOOP;
END $$;

-- The ids of the projects inside a box, found by the GiST index on location. Under row
-- security the planner may not use that index for a reader's own "location && box" (&& is
-- not LEAKPROOF, so it must wait for the row's policy check): a tile then scanned every
-- project. Ids alone, as the owner; the reader's policies still decide which of those
-- projects, and of their policies, the query may read (layers/sql/__init__.py boxed_scope).
CREATE FUNCTION riskmap_projects_in_box(west float8, south float8, east float8, north float8)
RETURNS SETOF int LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp
ROWS 200 AS $$
  SELECT id FROM project WHERE location && ST_MakeEnvelope(west, south, east, north, 4326)
$$;
