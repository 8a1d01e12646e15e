-- Boundaries that hold against a determined insurer and a curious public (issue 14).

-- 1. Visibility follows the policy, not the project. An insurer sees a project (its place,
-- stage, parties, grade, inspections and risk events) when it holds a share of a policy on it,
-- but of the policies on that project only its own: another insurer's policy, its figures,
-- shares, cover and claims (with the owners' names and phones) stay hidden. A TIS sees the
-- policies that name it; the project's parties see the policies on their projects.
CREATE OR REPLACE FUNCTION riskmap_visible_projects() RETURNS SETOF int
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp ROWS 1000 AS $$
  SELECT po.project_id FROM policy po JOIN policy_share s ON s.policy_id = po.id
  WHERE riskmap_role() = 'insurer' AND s.insurer_id = riskmap_org()
  UNION
  SELECT po.project_id FROM policy po
  WHERE riskmap_role() = 'insurer' AND po.lead_insurer_id = riskmap_org()
  UNION
  SELECT po.project_id FROM policy po WHERE riskmap_role() = 'tis' AND po.tis_id = riskmap_org()
  UNION
  SELECT p.id FROM project p
  WHERE (riskmap_role() = 'developer' AND p.developer_id = riskmap_org())
     OR (riskmap_role() = 'contractor' AND p.contractor_id = riskmap_org())
     OR (riskmap_role() = 'supervisor' AND p.supervisor_id = riskmap_org())
$$;

CREATE OR REPLACE FUNCTION riskmap_visible_policies() RETURNS SETOF int
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp ROWS 1000 AS $$
  SELECT s.policy_id FROM policy_share s
  WHERE riskmap_role() = 'insurer' AND s.insurer_id = riskmap_org()
  UNION
  -- the lead before its share is written (a policy is inserted before its shares)
  SELECT po.id FROM policy po
  WHERE riskmap_role() = 'insurer' AND po.lead_insurer_id = riskmap_org()
  UNION
  SELECT po.id FROM policy po WHERE riskmap_role() = 'tis' AND po.tis_id = riskmap_org()
  UNION
  SELECT po.id FROM policy po JOIN project p ON p.id = po.project_id
  WHERE (riskmap_role() = 'developer' AND p.developer_id = riskmap_org())
     OR (riskmap_role() = 'contractor' AND p.contractor_id = riskmap_org())
     OR (riskmap_role() = 'supervisor' AND p.supervisor_id = riskmap_org())
$$;

-- The policies an insurer leads: the only ones it may change, with their shares, cover and
-- claims (a co-insurer reads them, the lead handles them).
CREATE FUNCTION riskmap_led_policies() RETURNS SETOF int
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp ROWS 1000 AS $$
  SELECT po.id FROM policy po
  WHERE riskmap_role() = 'insurer' AND po.lead_insurer_id = riskmap_org()
$$;

-- Whether insurer ``org`` may put a new policy on project ``pid``: unless another insurer
-- already leads a live (submitted or confirmed) policy on it. So an insurer submits for its
-- own projects and for projects nobody insures yet, never onto a competitor's.
CREATE FUNCTION riskmap_may_insure(org int, pid int) RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
  SELECT org IS NOT NULL AND EXISTS (SELECT 1 FROM project WHERE id = pid) AND NOT EXISTS (
    SELECT 1 FROM policy po WHERE po.project_id = pid AND po.lead_insurer_id <> org
      AND po.status IN ('submitted', 'confirmed'))
$$;

-- The project an insurer names by permit number when it submits a policy on the web: found
-- only where it may insure it, so a competitor's project answers as an unknown one does.
CREATE FUNCTION riskmap_policy_project(permit text)
RETURNS TABLE (id int, completion_date date)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
  SELECT p.id, p.completion_date FROM project p
  WHERE p.permit_no = btrim(permit) AND riskmap_role() = 'insurer'
    AND riskmap_may_insure(riskmap_org(), p.id)
$$;

DROP POLICY policy_tenant ON policy;
-- (the lead's own row is matched on its column too: a row just inserted with RETURNING is
-- not yet in the set the function computes)
CREATE POLICY policy_read ON policy FOR SELECT
  USING (riskmap_sees_all() OR (riskmap_role() = 'insurer' AND lead_insurer_id = riskmap_org())
         OR id IN (SELECT v FROM riskmap_visible_policies() v));
CREATE POLICY policy_insert ON policy FOR INSERT
  WITH CHECK (riskmap_sees_all() OR (riskmap_role() = 'insurer'
    AND lead_insurer_id = riskmap_org() AND riskmap_may_insure(riskmap_org(), project_id)));
CREATE POLICY policy_update ON policy FOR UPDATE
  USING (riskmap_sees_all() OR id IN (SELECT v FROM riskmap_led_policies() v))
  WITH CHECK (riskmap_sees_all() OR (riskmap_role() = 'insurer'
    AND lead_insurer_id = riskmap_org()));
CREATE POLICY policy_delete ON policy FOR DELETE USING (riskmap_sees_all());

-- shares, reinsurance, cover and claims: read with the policy, written by its lead
DO $$
DECLARE
  t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['policy_share', 'reinsurance_share', 'coverage_section', 'claim']
  LOOP
    EXECUTE format('DROP POLICY %I ON %I', t || '_tenant', t);
    EXECUTE format('CREATE POLICY %I ON %I FOR SELECT USING (riskmap_sees_all() OR '
                   'policy_id IN (SELECT v FROM riskmap_visible_policies() v))', t || '_read', t);
    EXECUTE format('CREATE POLICY %I ON %I FOR INSERT WITH CHECK (riskmap_sees_all() OR '
                   'policy_id IN (SELECT v FROM riskmap_led_policies() v))', t || '_insert', t);
    EXECUTE format('CREATE POLICY %I ON %I FOR UPDATE USING (riskmap_sees_all() OR '
                   'policy_id IN (SELECT v FROM riskmap_led_policies() v)) WITH CHECK ('
                   'riskmap_sees_all() OR policy_id IN (SELECT v FROM riskmap_led_policies() v))',
                   t || '_update', t);
    EXECUTE format('CREATE POLICY %I ON %I FOR DELETE USING (riskmap_sees_all() OR '
                   'policy_id IN (SELECT v FROM riskmap_led_policies() v))', t || '_delete', t);
  END LOOP;
END $$;

-- 2. Complaints keep their steps in lifecycle_step like the other lifecycles, readable by
-- whoever may read the complaint (the regulator's queue shows the whole history).
ALTER TABLE lifecycle_step DROP CONSTRAINT lifecycle_step_lifecycle_check;
ALTER TABLE lifecycle_step ADD CONSTRAINT lifecycle_step_lifecycle_check
  CHECK (lifecycle IN ('policy', 'risk_management', 'risk_event', 'claim', 'complaint'));

CREATE OR REPLACE FUNCTION riskmap_record_visible(kind text, record_id int) RETURNS boolean
LANGUAGE sql STABLE AS $$
  SELECT CASE kind
    WHEN 'policy' THEN EXISTS (SELECT 1 FROM policy WHERE id = record_id)
    WHEN 'claim' THEN EXISTS (SELECT 1 FROM claim WHERE id = record_id)
    WHEN 'risk_event' THEN EXISTS (SELECT 1 FROM risk_event WHERE id = record_id)
    WHEN 'risk_management' THEN EXISTS (SELECT 1 FROM risk_management WHERE id = record_id)
    WHEN 'complaint' THEN EXISTS (SELECT 1 FROM complaint WHERE id = record_id)
    ELSE false END
$$;

INSERT INTO lifecycle_step (lifecycle, entity_id, step, from_state, to_state, on_date, at,
                            user_id, actor, role, detail)
SELECT 'complaint', substr(a.target, 11)::int, split_part(a.action, '.', 2),
       a.detail ->> 'from', COALESCE(a.detail ->> 'to', 'received'),
       COALESCE((a.detail ->> 'on')::date, (a.at AT TIME ZONE 'Asia/Shanghai')::date), a.at,
       a.user_id, a.actor, COALESCE(a.detail ->> 'role', 'public'),
       a.detail - 'from' - 'to' - 'on' - 'role' - 'step'
FROM audit_log a
WHERE a.action LIKE 'complaint.%' AND a.target ~ '^complaint:[0-9]+$'
  AND EXISTS (SELECT 1 FROM complaint c WHERE c.id = substr(a.target, 11)::int)
ORDER BY a.id;

-- 3. Secrets: the web role reads no password or token hash. Signing in asks for the salt of
-- an account's hash, works the hash out itself and asks whether it matches; a token is
-- looked up by its digest. Neither answer holds a hash.
REVOKE SELECT, UPDATE ON app_user, api_token FROM riskmap_web;
GRANT SELECT (id, username, display_name, role, organisation_id, is_active, created_at)
  ON app_user TO riskmap_web;
GRANT SELECT (id, user_id, name, created_at, last_used_at, revoked_at) ON api_token
  TO riskmap_web;

-- "method$salt" of an active account's hash (werkzeug's format), or NULL.
CREATE FUNCTION riskmap_password_salt(name text) RETURNS text
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
  SELECT split_part(password_hash, '$', 1) || '$' || split_part(password_hash, '$', 2)
  FROM app_user WHERE username = name AND is_active
$$;

-- The id of the active account whose stored hash is its salt followed by ``digest``.
CREATE FUNCTION riskmap_sign_in(name text, digest text) RETURNS int
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
  SELECT id FROM app_user WHERE username = name AND is_active AND digest <> ''
    AND split_part(password_hash, '$', 3) = digest
$$;

-- The active account of a live token, by the token's SHA-256; notes its use at most once a
-- minute, so a busy uploader costs no write a call.
CREATE FUNCTION riskmap_token_account(digest text) RETURNS int
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
  found_token int;
  found_user int;
  used timestamptz;
BEGIN
  SELECT t.id, t.user_id, t.last_used_at INTO found_token, found_user, used
  FROM api_token t JOIN app_user u ON u.id = t.user_id
  WHERE t.token_hash = digest AND t.revoked_at IS NULL AND u.is_active;
  IF found_token IS NOT NULL AND (used IS NULL OR used < now() - interval '1 minute')
     AND NOT current_setting('transaction_read_only')::boolean THEN
    UPDATE api_token SET last_used_at = now() WHERE id = found_token;
  END IF;
  RETURN found_user;
END $$;

-- 4. The owner's channel finds one building by what an owner knows of it — its whole name,
-- community, permit number or address — never by a fragment, and names it by an opaque
-- reference instead of the project's sequential id.
CREATE FUNCTION riskmap_normal(words text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT lower(translate(
    regexp_replace(COALESCE(words, ''),
                   '[[:space:][:punct:]、，。；：？！（）【】《》〈〉「」『』“”‘’·・—－～　]+', '', 'g'),
    '０１２３４５６７８９ＡＢＣＤＥＦＧＨＩＪＫＬＭＮＯＰＱＲＳＴＵＶＷＸＹＺａｂｃｄｅｆｇｈｉｊｋｌｍｎｏｐｑｒｓｔｕｖｗｘｙｚ',
    '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz'))
$$;

-- An address without the city and district it starts with: owners write both ways.
CREATE FUNCTION riskmap_address_core(address text, district_name text, city_name text)
RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  WITH a AS (SELECT riskmap_normal(address) AS w, riskmap_normal(city_name) AS c,
                    riskmap_normal(district_name) AS d),
  b AS (SELECT CASE WHEN c <> '' AND starts_with(w, c) THEN substr(w, length(c) + 1) ELSE w END
               AS w, d FROM a)
  SELECT CASE WHEN d <> '' AND starts_with(w, d) THEN substr(w, length(d) + 1) ELSE w END FROM b
$$;

ALTER TABLE project
  ADD COLUMN public_ref text NOT NULL DEFAULT replace(gen_random_uuid()::text, '-', '')
    CHECK (public_ref ~ '^[0-9a-f]{32}$'),
  ADD COLUMN owner_keys text[] NOT NULL DEFAULT '{}';
CREATE UNIQUE INDEX project_public_ref_idx ON project (public_ref);
CREATE INDEX project_owner_keys_idx ON project USING gin (owner_keys);

CREATE FUNCTION riskmap_project_owner_keys() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  NEW.owner_keys := ARRAY(SELECT DISTINCT k FROM unnest(ARRAY[
      riskmap_normal(NEW.name), riskmap_normal(NEW.community), riskmap_normal(NEW.permit_no),
      (SELECT riskmap_address_core(NEW.address, d.name, d.city_name) FROM district d
       WHERE d.code = NEW.district_code)]) k
    WHERE k IS NOT NULL AND length(k) >= 2);
  RETURN NEW;
END $$;
CREATE TRIGGER project_owner_keys BEFORE INSERT OR UPDATE OF name, community, permit_no,
  address, district_code ON project FOR EACH ROW EXECUTE FUNCTION riskmap_project_owner_keys();
UPDATE project SET name = name;

-- What an owner typed, as the keys it may match: itself, and without a leading city or
-- city and district (an address written in full).
CREATE FUNCTION riskmap_owner_query_keys(words text) RETURNS text[]
LANGUAGE sql STABLE SET search_path = public, pg_temp AS $$
  WITH q AS (SELECT riskmap_normal(left(words, 100)) AS w)
  SELECT ARRAY(SELECT q.w FROM q WHERE length(q.w) >= 2
    UNION
    SELECT riskmap_address_core(q.w, d.name, d.city_name) FROM q, district d
    WHERE length(q.w) >= 2 AND (starts_with(q.w, riskmap_normal(d.city_name))
                                OR starts_with(q.w, riskmap_normal(d.name))))
$$;

DROP FUNCTION riskmap_public_buildings(text);
CREATE FUNCTION riskmap_public_buildings(words text)
RETURNS TABLE (ref text, name text, community text, address text, district text)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
  SELECT p.public_ref, p.name, p.community, p.address, d.name FROM project p
  JOIN district d ON d.code = p.district_code
  WHERE p.owner_keys && riskmap_owner_query_keys(words)
    AND EXISTS (SELECT 1 FROM policy po WHERE po.project_id = p.id
                AND po.status IN ('submitted', 'confirmed'))
  ORDER BY p.name, p.public_ref LIMIT 20
$$;

-- The insured project behind a public reference (the pages resolve it, then ask as before).
CREATE FUNCTION riskmap_public_project(ref text) RETURNS int
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
  SELECT p.id FROM project p WHERE p.public_ref = ref AND EXISTS (
    SELECT 1 FROM policy po WHERE po.project_id = p.id AND po.status IN ('submitted', 'confirmed'))
$$;

-- 5. What each approved publication was made of, so that a later one can be checked against
-- it: the projects behind each district's value and the money the rules weigh. The city's
-- staff only; the public never reads it.
CREATE TABLE published_contribution (
  publication_id int NOT NULL REFERENCES layer_publication ON DELETE CASCADE,
  district_code char(6) NOT NULL REFERENCES district,
  project_id int NOT NULL,
  money jsonb NOT NULL DEFAULT '{}',
  PRIMARY KEY (publication_id, district_code, project_id)
);
ALTER TABLE published_contribution ENABLE ROW LEVEL SECURITY;
CREATE POLICY published_contribution_staff ON published_contribution
  USING (riskmap_sees_all()) WITH CHECK (riskmap_sees_all());

DO $$ BEGIN
  IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'riskmap_web') THEN
    GRANT SELECT, INSERT ON published_contribution TO riskmap_web;
  END IF;
END $$;
