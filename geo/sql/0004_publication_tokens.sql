-- Public layers a regulator approves, the values they publish, API tokens, and who may read
-- the audit log. Also lets the roles that see everything skip the per-row visibility check.

CREATE FUNCTION riskmap_sees_all() RETURNS boolean LANGUAGE sql STABLE AS $$
  SELECT COALESCE(riskmap_role() IN ('regulator', 'planner', 'admin'), false)
$$;

-- A tenant's visible ids as a set, worked out once per query (a SECURITY DEFINER function
-- per row, as 0003 had it, costs ~0.5 ms a row: seconds for a city's claims). The city's own
-- staff pass on the cheap setting check before the set is ever computed.
CREATE FUNCTION riskmap_visible_projects() RETURNS SETOF int
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp ROWS 1000 AS $$
  SELECT po.project_id FROM policy po JOIN policy_share s ON s.policy_id = po.id
  WHERE riskmap_role() = 'insurer' AND s.insurer_id = riskmap_org()
  UNION
  SELECT po.project_id FROM policy po WHERE riskmap_role() = 'tis' AND po.tis_id = riskmap_org()
  UNION
  SELECT p.id FROM project p
  WHERE (riskmap_role() = 'developer' AND p.developer_id = riskmap_org())
     OR (riskmap_role() = 'contractor' AND p.contractor_id = riskmap_org())
     OR (riskmap_role() = 'supervisor' AND p.supervisor_id = riskmap_org())
$$;

CREATE FUNCTION riskmap_visible_policies() RETURNS SETOF int
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp ROWS 1000 AS $$
  SELECT po.id FROM policy po WHERE po.project_id IN (SELECT riskmap_visible_projects())
$$;

ALTER POLICY project_tenant ON project
  USING (riskmap_sees_all() OR id IN (SELECT v FROM riskmap_visible_projects() v));
ALTER POLICY policy_tenant ON policy
  USING (riskmap_sees_all() OR project_id IN (SELECT v FROM riskmap_visible_projects() v));
ALTER POLICY inspection_tenant ON inspection
  USING (riskmap_sees_all() OR project_id IN (SELECT v FROM riskmap_visible_projects() v));
ALTER POLICY risk_event_tenant ON risk_event
  USING (riskmap_sees_all() OR project_id IN (SELECT v FROM riskmap_visible_projects() v));
ALTER POLICY report_tenant ON report
  USING (riskmap_sees_all() OR project_id IN (SELECT v FROM riskmap_visible_projects() v));
ALTER POLICY policy_share_tenant ON policy_share
  USING (riskmap_sees_all() OR policy_id IN (SELECT v FROM riskmap_visible_policies() v));
ALTER POLICY reinsurance_share_tenant ON reinsurance_share
  USING (riskmap_sees_all() OR policy_id IN (SELECT v FROM riskmap_visible_policies() v));
ALTER POLICY coverage_section_tenant ON coverage_section
  USING (riskmap_sees_all() OR policy_id IN (SELECT v FROM riskmap_visible_policies() v));
ALTER POLICY claim_tenant ON claim
  USING (riskmap_sees_all() OR policy_id IN (SELECT v FROM riskmap_visible_policies() v));

-- A publication: one district layer with its filters, through draft → submitted → approved or
-- rejected → withdrawn. On approval the values are computed once, suppressed where they
-- disclose too much, and frozen in published_value: the public sees what was approved.
ALTER TABLE layer_publication
  ADD COLUMN title text NOT NULL DEFAULT '' CHECK (length(title) <= 200),
  ADD COLUMN submitted_by int REFERENCES app_user,
  ADD COLUMN submitted_at timestamptz,
  ADD COLUMN withdrawn_by int REFERENCES app_user,
  ADD COLUMN withdrawn_at timestamptz,
  ADD COLUMN min_projects int CHECK (min_projects >= 1),
  ADD COLUMN dominance numeric CHECK (dominance > 0 AND dominance <= 1),
  ADD COLUMN data_version bigint,
  ADD COLUMN as_of date,
  ADD COLUMN city_value double precision,
  ADD COLUMN city_suppressed boolean,
  -- (a draft may be withdrawn before it was ever approved: then it has no values)
  ADD CONSTRAINT approved_has_values CHECK (
    status <> 'approved' OR (data_version IS NOT NULL
      AND city_suppressed IS NOT NULL AND min_projects IS NOT NULL)),
  ADD CONSTRAINT suppressed_city_has_no_value CHECK (
    city_suppressed IS NOT TRUE OR city_value IS NULL);

CREATE TABLE layer_publication_step (
  id bigserial PRIMARY KEY,
  publication_id int NOT NULL REFERENCES layer_publication ON DELETE CASCADE,
  status text NOT NULL
    CHECK (status IN ('draft', 'submitted', 'approved', 'rejected', 'withdrawn')),
  reason text,
  user_id int REFERENCES app_user,
  actor text NOT NULL,
  at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX layer_publication_step_publication_idx ON layer_publication_step (publication_id);

CREATE TABLE published_value (
  publication_id int NOT NULL REFERENCES layer_publication ON DELETE CASCADE,
  district_code char(6) NOT NULL REFERENCES district,
  value double precision,
  suppressed boolean NOT NULL,
  PRIMARY KEY (publication_id, district_code),
  -- a suppressed value is never stored, so no query can leak it
  CHECK (NOT suppressed OR value IS NULL)
);

-- Tokens for systems that upload data: only a SHA-256 of the token is kept (the token itself
-- is 256 random bits, shown once).
CREATE TABLE api_token (
  id serial PRIMARY KEY,
  user_id int NOT NULL REFERENCES app_user ON DELETE CASCADE,
  name text NOT NULL CHECK (name <> '' AND length(name) <= 100),
  token_hash text NOT NULL UNIQUE CHECK (token_hash ~ '^[0-9a-f]{64}$'),
  created_at timestamptz NOT NULL DEFAULT now(),
  last_used_at timestamptz,
  revoked_at timestamptz
);

-- The public reads approved publications only; only the city's staff write them.
ALTER TABLE layer_publication ENABLE ROW LEVEL SECURITY;
CREATE POLICY layer_publication_read ON layer_publication FOR SELECT
  USING (riskmap_sees_all() OR status = 'approved');
CREATE POLICY layer_publication_insert ON layer_publication FOR INSERT
  WITH CHECK (riskmap_sees_all());
CREATE POLICY layer_publication_update ON layer_publication FOR UPDATE
  USING (riskmap_sees_all()) WITH CHECK (riskmap_sees_all());
ALTER TABLE layer_publication_step ENABLE ROW LEVEL SECURITY;
CREATE POLICY layer_publication_step_staff ON layer_publication_step
  USING (riskmap_sees_all()) WITH CHECK (riskmap_sees_all());
ALTER TABLE published_value ENABLE ROW LEVEL SECURITY;
CREATE POLICY published_value_read ON published_value FOR SELECT USING (EXISTS (
  -- layer_publication's own policy decides: the public reaches approved ones only
  SELECT 1 FROM layer_publication lp WHERE lp.id = publication_id));
CREATE POLICY published_value_insert ON published_value FOR INSERT
  WITH CHECK (riskmap_sees_all());

-- Everyone's actions are logged; only administrators read the log.
ALTER TABLE audit_log ENABLE ROW LEVEL SECURITY;
CREATE POLICY audit_log_read ON audit_log FOR SELECT USING (riskmap_role() = 'admin');
CREATE POLICY audit_log_write ON audit_log FOR INSERT WITH CHECK (true);

DO $$
BEGIN
  IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'riskmap_web') THEN
    GRANT SELECT ON layer_publication_step, published_value, api_token TO riskmap_web;
    GRANT INSERT ON layer_publication_step, published_value TO riskmap_web;
    GRANT UPDATE (last_used_at) ON api_token TO riskmap_web;
    -- logs are appended to, never rewritten; publications are withdrawn, never deleted
    REVOKE UPDATE, DELETE ON audit_log, import_log FROM riskmap_web;
    REVOKE DELETE ON layer_publication FROM riskmap_web;
    GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO riskmap_web;
  ELSE
    RAISE NOTICE 'role riskmap_web is missing: grant it its rights once it exists';
  END IF;
END $$;
