-- Row-level security. Each request of the web service runs as the role riskmap_web (no
-- table of its own, no BYPASSRLS) and sets, for its transaction,
--   riskmap.role  regulator | planner | admin | insurer | tis | developer | contractor |
--                 supervisor | public
--   riskmap.org   the user's organisation id
-- with set_config(..., true). Without them nothing protected is visible. Migrations, loaders
-- and the CLI run as the tables' owner and are not filtered.

CREATE FUNCTION riskmap_role() RETURNS text LANGUAGE sql STABLE AS $$
  SELECT NULLIF(current_setting('riskmap.role', true), '')
$$;

CREATE FUNCTION riskmap_org() RETURNS int LANGUAGE sql STABLE AS $$
  SELECT NULLIF(current_setting('riskmap.org', true), '')::int
$$;

-- SECURITY DEFINER: runs as the owner, so the lookups inside are not themselves filtered
-- (which would recurse) and see every share and assignment.
CREATE FUNCTION visible_project(pid int) RETURNS boolean
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

CREATE FUNCTION visible_policy(policy_id int) RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
  SELECT visible_project((SELECT po.project_id FROM policy po WHERE po.id = policy_id))
$$;

ALTER TABLE project ENABLE ROW LEVEL SECURITY;
CREATE POLICY project_tenant ON project USING (visible_project(id));
ALTER TABLE policy ENABLE ROW LEVEL SECURITY;
CREATE POLICY policy_tenant ON policy USING (visible_project(project_id));
ALTER TABLE policy_share ENABLE ROW LEVEL SECURITY;
CREATE POLICY policy_share_tenant ON policy_share USING (visible_policy(policy_id));
ALTER TABLE reinsurance_share ENABLE ROW LEVEL SECURITY;
CREATE POLICY reinsurance_share_tenant ON reinsurance_share USING (visible_policy(policy_id));
ALTER TABLE coverage_section ENABLE ROW LEVEL SECURITY;
CREATE POLICY coverage_section_tenant ON coverage_section USING (visible_policy(policy_id));
ALTER TABLE inspection ENABLE ROW LEVEL SECURITY;
CREATE POLICY inspection_tenant ON inspection USING (visible_project(project_id));
ALTER TABLE risk_event ENABLE ROW LEVEL SECURITY;
CREATE POLICY risk_event_tenant ON risk_event USING (visible_project(project_id));
ALTER TABLE report ENABLE ROW LEVEL SECURITY;
CREATE POLICY report_tenant ON report USING (visible_project(project_id));
ALTER TABLE claim ENABLE ROW LEVEL SECURITY;
CREATE POLICY claim_tenant ON claim USING (visible_policy(policy_id));

-- The web role: created once per cluster (roles are cluster-wide), owns nothing, may not
-- bypass row security. Where the migrating user may not create roles (a managed database),
-- an administrator creates it: CREATE ROLE riskmap_web LOGIN NOBYPASSRLS.
DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'riskmap_web') THEN
    IF (SELECT rolsuper OR rolcreaterole FROM pg_roles WHERE rolname = current_user) THEN
      -- Two databases of one cluster migrated at once (the test suite's workers) both find the
      -- role missing; the second CREATE waits for the first and then finds it taken.
      BEGIN
        CREATE ROLE riskmap_web LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE;
      EXCEPTION WHEN duplicate_object OR unique_violation THEN
        NULL;
      END;
    ELSE
      RAISE NOTICE 'role riskmap_web is missing and cannot be created by %', current_user;
      RETURN;
    END IF;
  END IF;
  EXECUTE format('GRANT CONNECT ON DATABASE %I TO riskmap_web', current_database());
  GRANT USAGE ON SCHEMA public TO riskmap_web;
  GRANT SELECT ON ALL TABLES IN SCHEMA public TO riskmap_web;
  GRANT INSERT, UPDATE, DELETE ON project, policy, policy_share, reinsurance_share,
    coverage_section, inspection, risk_event, report, claim, organisation, layer_publication,
    audit_log, import_log TO riskmap_web;
  GRANT UPDATE ON data_version TO riskmap_web;
  GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO riskmap_web;
END $$;
