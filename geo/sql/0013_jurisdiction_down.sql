-- Back to one programme the city's staff see whole: the jurisdiction terms come out of every
-- policy again (as 0013 put them in, in the form PostgreSQL keeps them), then their functions.
ALTER POLICY audit_log_read ON audit_log USING ((SELECT riskmap_role()) = 'admin');
CREATE OR REPLACE FUNCTION visible_project(pid int) RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
  SELECT CASE riskmap_role()
    WHEN 'regulator' THEN true
    WHEN 'planner' THEN true
    WHEN 'admin' THEN true
    WHEN 'insurer' THEN EXISTS (
      SELECT 1 FROM policy po JOIN policy_share s ON s.policy_id = po.id
      WHERE po.project_id = pid AND s.insurer_id = riskmap_org())
    WHEN 'tis' THEN EXISTS (
      SELECT 1 FROM policy po WHERE po.project_id = pid AND po.tis_id = riskmap_org())
    WHEN 'developer' THEN EXISTS (
      SELECT 1 FROM project p WHERE p.id = pid AND p.developer_id = riskmap_org())
    WHEN 'contractor' THEN EXISTS (
      SELECT 1 FROM project p WHERE p.id = pid AND p.contractor_id = riskmap_org())
    WHEN 'supervisor' THEN EXISTS (
      SELECT 1 FROM project p WHERE p.id = pid AND p.supervisor_id = riskmap_org())
    ELSE false
  END
$$;
CREATE OR REPLACE FUNCTION visible_policy(policy_id int) RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
  SELECT visible_project((SELECT po.project_id FROM policy po WHERE po.id = policy_id))
$$;

DO $$
DECLARE
  p record;
  terms CONSTANT text := '\s*OR\s*(\(project_id IN \( SELECT v\.v\s+FROM riskmap_area_projects\(\) v\(v\)\)\)'
    || '|\(policy_id IN \( SELECT v\.v\s+FROM riskmap_area_policies\(\) v\(v\)\)\)'
    || '|starts_with\(\((district_code|city)\)::text, \( SELECT riskmap_area\(\) AS riskmap_area\)\)'
    || '|\(EXISTS \( SELECT 1\s+FROM layer_publication lp\s+WHERE \(\(lp\.id = \w+\.publication_id\) '
    || 'AND starts_with\(\(lp\.city\)::text, \( SELECT riskmap_area\(\) AS riskmap_area\)\)\)\)\)'
    || '|\(\( SELECT riskmap_area\(\) AS riskmap_area\) IS NOT NULL\))';
BEGIN
  FOR p IN SELECT tablename, policyname, qual, with_check FROM pg_policies
           WHERE schemaname = 'public' LOOP
    IF p.qual ~ terms THEN
      EXECUTE format('ALTER POLICY %I ON %I USING (%s)', p.policyname, p.tablename,
                     regexp_replace(p.qual, terms, '', 'g'));
    END IF;
    IF p.with_check ~ terms THEN
      EXECUTE format('ALTER POLICY %I ON %I WITH CHECK (%s)', p.policyname, p.tablename,
                     regexp_replace(p.with_check, terms, '', 'g'));
    END IF;
  END LOOP;
END $$;

CREATE OR REPLACE FUNCTION riskmap_sees_all() RETURNS boolean LANGUAGE sql STABLE AS $$
  SELECT COALESCE(riskmap_role() IN ('regulator', 'planner', 'admin'), false)
$$;

CREATE OR REPLACE FUNCTION riskmap_map_projects_in_box(west float8, south float8, east float8,
                                                       north float8)
RETURNS SETOF map_project LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = public, pg_temp ROWS 1000 AS $$
  SELECT m.* FROM map_project m
  WHERE (SELECT riskmap_sees_all()) AND m.geom && ST_MakeEnvelope(west, south, east, north, 3857)
$$;

CREATE OR REPLACE FUNCTION riskmap_district_days(city text, date_from date, date_to date)
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

DROP FUNCTION riskmap_area_policies();
DROP FUNCTION riskmap_area_projects();
DROP FUNCTION riskmap_area();
DROP FUNCTION riskmap_jurisdiction_prefix(text);
ALTER TABLE layer_publication DROP COLUMN IF EXISTS city;
ALTER TABLE app_user DROP CONSTRAINT IF EXISTS app_user_staff_jurisdiction;
ALTER TABLE app_user DROP COLUMN IF EXISTS jurisdiction;
