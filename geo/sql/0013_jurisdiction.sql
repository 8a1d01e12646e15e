-- Jurisdictions (issue 21): one store may hold many cities' programmes. The city's own staff
-- (regulator, planner, admin) see the programme of their jurisdiction only: a district, a
-- city, a province (GB/T 2260 code) or the nation (100000). An insurer, a TIS and the
-- parties keep seeing their own business wherever it is.
--
-- Each request sets riskmap.jurisdiction beside riskmap.role (geo/tenancy.py set_tenant). A
-- staff role without it sees nothing: a forgotten setting closes, never opens.

ALTER TABLE app_user ADD COLUMN jurisdiction char(6)
  CHECK (jurisdiction IS NULL OR jurisdiction = '100000' OR is_gb2260(jurisdiction));

-- Accounts made before jurisdictions saw everything. Where the store holds one city, its staff
-- are that city's; otherwise they keep the whole store (the nation) until an operator narrows
-- them (riskmap users jurisdiction).
UPDATE app_user SET jurisdiction = CASE
    WHEN (SELECT count(DISTINCT city_code) FROM district) = 1
    THEN (SELECT min(city_code) FROM district) ELSE '100000' END
  WHERE role IN ('regulator', 'planner', 'admin');
ALTER TABLE app_user ADD CONSTRAINT app_user_staff_jurisdiction
  CHECK ((role IN ('regulator', 'planner', 'admin')) = (jurisdiction IS NOT NULL));
-- the web role reads it with the account on every request (0008 grants app_user by column)
GRANT SELECT (jurisdiction) ON app_user TO riskmap_web;

-- The district-code prefix a jurisdiction covers: '' the nation, 'XX' a province, 'XXYY' a
-- city, the whole code a district; NULL for no jurisdiction.
CREATE FUNCTION riskmap_jurisdiction_prefix(code text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT CASE WHEN code = '100000' THEN ''
              WHEN code ~ '^[0-9]{2}0000$' THEN left(code, 2)
              WHEN code ~ '^[0-9]{4}00$' THEN left(code, 4)
              WHEN code ~ '^[0-9]{6}$' THEN code END
$$;

-- The caller's prefix when it is one of the city's staff; NULL for everyone else.
CREATE FUNCTION riskmap_area() RETURNS text LANGUAGE sql STABLE AS $$
  SELECT CASE WHEN riskmap_role() IN ('regulator', 'planner', 'admin')
    THEN riskmap_jurisdiction_prefix(NULLIF(current_setting('riskmap.jurisdiction', true), ''))
  END
$$;

-- Staff whose jurisdiction holds every district of the store: the row checks are skipped for
-- them, as before. Codes are fixed-length digits, so every code lies in the prefix exactly
-- when the least and the greatest do (two index probes, not a scan of the districts).
CREATE OR REPLACE FUNCTION riskmap_sees_all() RETURNS boolean LANGUAGE sql STABLE AS $$
  SELECT COALESCE(a = '' OR (starts_with((SELECT min(code) FROM district), a)
                             AND starts_with((SELECT max(code) FROM district), a)), false)
  FROM (SELECT riskmap_area() AS a) s
$$;

-- The projects and policies of the caller's jurisdiction (staff only). The district codes of
-- a prefix form one range of the index, so a city's staff read only their city's projects.
CREATE FUNCTION riskmap_area_projects() RETURNS SETOF int
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp ROWS 1000 AS $$
  SELECT p.id FROM project p, (SELECT riskmap_area() AS a) s
  WHERE s.a IS NOT NULL
    AND p.district_code BETWEEN rpad(s.a, 6, '0')::char(6) AND rpad(s.a, 6, '9')::char(6)
$$;

CREATE FUNCTION riskmap_area_policies() RETURNS SETOF int
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp ROWS 1000 AS $$
  SELECT po.id FROM policy po WHERE po.project_id IN (SELECT riskmap_area_projects())
$$;

-- A public layer is a city's: its staff draft, decide and publish it (0004 had one city).
-- Publications made before are the store's one city's where it holds one.
ALTER TABLE layer_publication ADD COLUMN city char(6) CHECK (city IS NULL OR is_gb2260(city));
UPDATE layer_publication SET city = (SELECT min(city_code) FROM district)
  WHERE (SELECT count(DISTINCT city_code) FROM district) = 1;

-- Every policy that let the city's staff through lets staff through within their jurisdiction:
-- by the row's own district, its project or its policy. Tables of neither (the publications,
-- exposure limits) stay the staff's; rows reached through another record (a claim's disputes,
-- subrogation and ratings; steps and documents) already follow that record's own policy.
-- Rewritten alike so none is missed.
DO $$
DECLARE
  p record;
  term text;
  old CONSTANT text := '\( SELECT riskmap_sees_all\(\) AS riskmap_sees_all\)';
BEGIN
  FOR p IN SELECT tablename, policyname, qual, with_check FROM pg_policies
           WHERE schemaname = 'public' LOOP
    term := CASE
      WHEN p.tablename = 'project' THEN
        'starts_with(district_code::text, (SELECT riskmap_area()))'
      WHEN p.tablename = 'layer_publication' THEN
        'starts_with(city::text, (SELECT riskmap_area()))'
      WHEN p.tablename IN ('layer_publication_step', 'published_value') THEN
        'EXISTS (SELECT 1 FROM layer_publication lp WHERE lp.id = publication_id '
        'AND starts_with(lp.city::text, (SELECT riskmap_area())))'
      WHEN p.tablename = 'complaint' THEN
        -- a complaint names its district or its project, or both, or (anonymous) neither
        'starts_with(district_code::text, (SELECT riskmap_area())) '
        'OR project_id IN (SELECT v FROM riskmap_area_projects() v)'
      WHEN EXISTS (SELECT 1 FROM information_schema.columns WHERE table_schema = 'public'
                   AND table_name = p.tablename AND column_name = 'project_id') THEN
        'project_id IN (SELECT v FROM riskmap_area_projects() v)'
      WHEN EXISTS (SELECT 1 FROM information_schema.columns WHERE table_schema = 'public'
                   AND table_name = p.tablename AND column_name = 'policy_id') THEN
        'policy_id IN (SELECT v FROM riskmap_area_policies() v)'
      WHEN p.tablename IN ('claim_dispute', 'claim_subrogation', 'service_rating',
                           'document', 'lifecycle_step') THEN NULL
      ELSE '(SELECT riskmap_area()) IS NOT NULL' END;
    CONTINUE WHEN term IS NULL;
    term := '((SELECT riskmap_sees_all()) OR ' || term || ')';
    IF p.qual ~ old THEN
      EXECUTE format('ALTER POLICY %I ON %I USING (%s)', p.policyname, p.tablename,
                     regexp_replace(p.qual, old, term, 'g'));
    END IF;
    IF p.with_check ~ old THEN
      EXECUTE format('ALTER POLICY %I ON %I WITH CHECK (%s)', p.policyname, p.tablename,
                     regexp_replace(p.with_check, old, term, 'g'));
    END IF;
  END LOOP;
END $$;

-- An admin reads the audit log of the staff of its jurisdiction; the rest of it (tenants,
-- the public, the command line) only one whose jurisdiction holds the whole store.
ALTER POLICY audit_log_read ON audit_log USING ((SELECT riskmap_role()) = 'admin' AND (
  (SELECT riskmap_sees_all()) OR user_id IN (SELECT u.id FROM app_user u
    WHERE starts_with(riskmap_jurisdiction_prefix(u.jurisdiction), (SELECT riskmap_area())))));

-- 0003's per-row checks, unused since 0004: they let any staff member through.
DROP FUNCTION IF EXISTS visible_policy(int);
DROP FUNCTION IF EXISTS visible_project(int);

-- The kept summaries answer staff for their jurisdiction's districts (map_project and
-- district_day are keyed by district); nothing for anyone else. riskmap_district_days's
-- "city" may now be a province's or the nation's code too (the layers rolled up one level).
CREATE OR REPLACE FUNCTION riskmap_map_projects_in_box(west float8, south float8, east float8,
                                                       north float8)
RETURNS SETOF map_project LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = public, pg_temp ROWS 1000 AS $$
  SELECT m.* FROM map_project m
  WHERE starts_with(m.district_code::text, (SELECT riskmap_area()))
    AND m.geom && ST_MakeEnvelope(west, south, east, north, 3857)
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
  WHERE starts_with(d.code::text, (SELECT riskmap_area()))
    AND starts_with(d.code::text, riskmap_jurisdiction_prefix(city))
    AND (date_from IS NULL OR dd.day >= date_from) AND (date_to IS NULL OR dd.day <= date_to)
  GROUP BY dd.district_code
$$;
