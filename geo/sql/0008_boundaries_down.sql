-- Back to 0007: row security by project, hashes readable by the web role, the owner's search
-- by fragment, complaint steps only in the audit log.
DROP TABLE published_contribution;
DROP FUNCTION riskmap_public_project(text);
DROP FUNCTION riskmap_public_buildings(text);
CREATE FUNCTION riskmap_public_buildings(pattern text)
RETURNS TABLE (id int, name text, community text, address text, district text)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
  SELECT p.id, p.name, p.community, p.address, d.name FROM project p
  JOIN district d ON d.code = p.district_code
  WHERE (p.name ILIKE pattern OR p.community ILIKE pattern OR p.address ILIKE pattern)
    AND EXISTS (SELECT 1 FROM policy po WHERE po.project_id = p.id
                AND po.status IN ('submitted', 'confirmed'))
  ORDER BY p.name LIMIT 20
$$;
DROP FUNCTION riskmap_owner_query_keys(text);
DROP TRIGGER project_owner_keys ON project;
DROP FUNCTION riskmap_project_owner_keys();
ALTER TABLE project DROP COLUMN public_ref, DROP COLUMN owner_keys;
DROP FUNCTION riskmap_address_core(text, text, text);
DROP FUNCTION riskmap_normal(text);

DROP FUNCTION riskmap_token_account(text);
DROP FUNCTION riskmap_sign_in(text, text);
DROP FUNCTION riskmap_password_salt(text);
DO $$ BEGIN
  IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'riskmap_web') THEN
    GRANT SELECT ON app_user, api_token TO riskmap_web;
    GRANT UPDATE (last_used_at) ON api_token TO riskmap_web;
  END IF;
END $$;

DELETE FROM lifecycle_step WHERE lifecycle = 'complaint';
ALTER TABLE lifecycle_step DROP CONSTRAINT lifecycle_step_lifecycle_check;
ALTER TABLE lifecycle_step ADD CONSTRAINT lifecycle_step_lifecycle_check
  CHECK (lifecycle IN ('policy', 'risk_management', 'risk_event', 'claim'));
CREATE OR REPLACE FUNCTION riskmap_record_visible(kind text, record_id int) RETURNS boolean
LANGUAGE sql STABLE AS $$
  SELECT CASE kind
    WHEN 'policy' THEN EXISTS (SELECT 1 FROM policy WHERE id = record_id)
    WHEN 'claim' THEN EXISTS (SELECT 1 FROM claim WHERE id = record_id)
    WHEN 'risk_event' THEN EXISTS (SELECT 1 FROM risk_event WHERE id = record_id)
    WHEN 'risk_management' THEN EXISTS (SELECT 1 FROM risk_management WHERE id = record_id)
    ELSE false END
$$;

DO $$
DECLARE
  t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['policy_share', 'reinsurance_share', 'coverage_section', 'claim']
  LOOP
    EXECUTE format('DROP POLICY %I ON %I', t || '_read', t);
    EXECUTE format('DROP POLICY %I ON %I', t || '_insert', t);
    EXECUTE format('DROP POLICY %I ON %I', t || '_update', t);
    EXECUTE format('DROP POLICY %I ON %I', t || '_delete', t);
    EXECUTE format('CREATE POLICY %I ON %I USING (riskmap_sees_all() OR '
                   'policy_id IN (SELECT v FROM riskmap_visible_policies() v))', t || '_tenant', t);
  END LOOP;
END $$;
DROP POLICY policy_read ON policy;
DROP POLICY policy_insert ON policy;
DROP POLICY policy_update ON policy;
DROP POLICY policy_delete ON policy;
CREATE POLICY policy_tenant ON policy
  USING (riskmap_sees_all() OR project_id IN (SELECT v FROM riskmap_visible_projects() v));
DROP FUNCTION riskmap_policy_project(text);
DROP FUNCTION riskmap_may_insure(int, int);
DROP FUNCTION riskmap_led_policies();
CREATE OR REPLACE FUNCTION riskmap_visible_policies() RETURNS SETOF int
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp ROWS 1000 AS $$
  SELECT po.id FROM policy po WHERE po.project_id IN (SELECT riskmap_visible_projects())
$$;
CREATE OR REPLACE FUNCTION riskmap_visible_projects() RETURNS SETOF int
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
