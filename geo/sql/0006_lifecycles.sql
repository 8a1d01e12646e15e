-- The lifecycles' steps (issue 8): every step taken, the documents steps need, the risk
-- management of each project, and what disputes, emergencies and subrogation record.
-- Rules live in geo/lifecycle.py; geo/workflow.py is the one writer of these steps.

CREATE TABLE lifecycle_step (
  id bigserial PRIMARY KEY,
  lifecycle text NOT NULL CHECK (lifecycle IN ('policy', 'risk_management', 'risk_event', 'claim')),
  entity_id int NOT NULL,
  step text NOT NULL,
  from_state text,
  to_state text NOT NULL,
  on_date date NOT NULL,                  -- the day the step happened (deadlines count on it)
  at timestamptz NOT NULL DEFAULT now(),  -- when it was recorded
  user_id int REFERENCES app_user,
  actor text NOT NULL,
  role text NOT NULL,
  organisation_id int REFERENCES organisation,
  detail jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX lifecycle_step_entity_idx ON lifecycle_step (lifecycle, entity_id, id);

CREATE TABLE document (
  id serial PRIMARY KEY,
  lifecycle text NOT NULL,
  entity_id int NOT NULL,
  kind text NOT NULL CHECK (kind ~ '^[a-z_]+$'),
  filename text NOT NULL CHECK (filename <> '' AND length(filename) <= 200),
  mimetype text NOT NULL,
  sha256 char(64) NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
  size_bytes int NOT NULL CHECK (size_bytes > 0),
  content bytea NOT NULL,
  step_id bigint REFERENCES lifecycle_step,
  uploaded_by int REFERENCES app_user,
  uploaded_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX document_entity_idx ON document (lifecycle, entity_id);

-- One risk management per project: the TIS's plan, inspections, final report, return visit.
CREATE TABLE risk_management (
  id serial PRIMARY KEY,
  project_id int NOT NULL UNIQUE REFERENCES project ON DELETE CASCADE,
  tis_id int NOT NULL REFERENCES organisation,
  status text NOT NULL,
  tis_rating int CHECK (tis_rating BETWEEN 1 AND 5),
  tis_comment text,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE TRIGGER risk_management_tis_kind BEFORE INSERT OR UPDATE ON risk_management
  FOR EACH ROW EXECUTE FUNCTION check_organisation_kind('tis_id', 'tis');

ALTER TABLE project ADD COLUMN units_sold int NOT NULL DEFAULT 0 CHECK (units_sold >= 0);
ALTER TABLE risk_event ADD COLUMN evidence_submitted_on date, ADD COLUMN evidence_note text;
ALTER TABLE claim ADD COLUMN emergency_repair_on date,
  ADD COLUMN description text;

CREATE TABLE claim_dispute (
  id serial PRIMARY KEY,
  claim_id int NOT NULL REFERENCES claim ON DELETE CASCADE,
  appraiser text NOT NULL,
  reason text NOT NULL,
  opened_on date NOT NULL,
  covered boolean,                      -- the appraisal's finding, once known
  cost_yuan numeric(14, 2) CHECK (cost_yuan >= 0),
  cost_borne_by text CHECK (cost_borne_by IN ('insurer', 'owner')),
  decided_on date,
  CHECK ((covered IS NULL) = (cost_borne_by IS NULL)),
  -- 四（八）: the insurer pays the appraisal when the defect is its liability, the owner if not
  CHECK (covered IS NULL OR cost_borne_by = CASE WHEN covered THEN 'insurer' ELSE 'owner' END)
);

CREATE TABLE claim_subrogation (
  id serial PRIMARY KEY,
  claim_id int NOT NULL REFERENCES claim ON DELETE CASCADE,
  against text NOT NULL CHECK (against <> ''),
  amount_yuan numeric(14, 2) NOT NULL CHECK (amount_yuan > 0),
  recorded_on date NOT NULL
);

-- Who may read a step or a document: whoever may read its record.
CREATE FUNCTION riskmap_record_visible(kind text, record_id int) RETURNS boolean
LANGUAGE sql STABLE AS $$
  SELECT CASE kind
    WHEN 'policy' THEN EXISTS (SELECT 1 FROM policy WHERE id = record_id)
    WHEN 'claim' THEN EXISTS (SELECT 1 FROM claim WHERE id = record_id)
    WHEN 'risk_event' THEN EXISTS (SELECT 1 FROM risk_event WHERE id = record_id)
    WHEN 'risk_management' THEN EXISTS (SELECT 1 FROM risk_management WHERE id = record_id)
    ELSE false END
$$;

ALTER TABLE risk_management ENABLE ROW LEVEL SECURITY;
CREATE POLICY risk_management_tenant ON risk_management
  USING (riskmap_sees_all() OR project_id IN (SELECT v FROM riskmap_visible_projects() v));
ALTER TABLE lifecycle_step ENABLE ROW LEVEL SECURITY;
CREATE POLICY lifecycle_step_read ON lifecycle_step FOR SELECT
  USING (riskmap_sees_all() OR riskmap_record_visible(lifecycle, entity_id));
CREATE POLICY lifecycle_step_write ON lifecycle_step FOR INSERT WITH CHECK (true);
ALTER TABLE document ENABLE ROW LEVEL SECURITY;
CREATE POLICY document_read ON document FOR SELECT
  USING (riskmap_sees_all() OR riskmap_record_visible(lifecycle, entity_id));
CREATE POLICY document_write ON document FOR INSERT WITH CHECK (true);
ALTER TABLE claim_dispute ENABLE ROW LEVEL SECURITY;
CREATE POLICY claim_dispute_tenant ON claim_dispute
  USING (riskmap_sees_all() OR EXISTS (SELECT 1 FROM claim c WHERE c.id = claim_id));
ALTER TABLE claim_subrogation ENABLE ROW LEVEL SECURITY;
CREATE POLICY claim_subrogation_tenant ON claim_subrogation
  USING (riskmap_sees_all() OR EXISTS (SELECT 1 FROM claim c WHERE c.id = claim_id));

-- The public (an owner, no account) reaches claims only through these, never the tables.
-- A building's live cover, to check a claim against (no money, no parties but the insurer).
CREATE FUNCTION riskmap_public_cover(pid int)
RETURNS TABLE (policy_id int, section text, starts_on date, ends_on date, delivery_date date,
               insurer text, hotline text)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
  SELECT po.id, cs.section, cs.starts_on, cs.ends_on, p.delivery_date, o.name, o.claim_hotline
  FROM policy po JOIN project p ON p.id = po.project_id
  JOIN coverage_section cs ON cs.policy_id = po.id
  JOIN organisation o ON o.id = po.lead_insurer_id
  WHERE po.project_id = pid AND po.status IN ('submitted', 'confirmed')
  ORDER BY po.id, cs.section
$$;

-- An owner finds their building by its name, community or address (insured buildings only;
-- the match is on the text given, with the caller's % and _ escaped).
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

-- A claim as its owner follows it: the claim number and the secret's hash must both match.
CREATE FUNCTION riskmap_public_claim(number text, secret text)
RETURNS TABLE (id int, claim_no text, status text, status_zh text, section text,
               reported_on date, surveyed_on date, decided_on date, decision text,
               decision_reason text, agreed_on date, settled_on date, is_complex boolean,
               project text, insurer text, hotline text)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
  SELECT c.id, c.claim_no, c.status, s.name_zh, k.name_zh, c.reported_on, c.surveyed_on,
         c.decided_on, c.decision, c.decision_reason, c.agreed_on, c.settled_on, c.is_complex,
         p.name, o.name, o.claim_hotline
  FROM claim c JOIN claim_status s ON s.code = c.status
  JOIN coverage_section_kind k ON k.code = c.section
  JOIN policy po ON po.id = c.policy_id JOIN project p ON p.id = po.project_id
  JOIN organisation o ON o.id = po.lead_insurer_id
  WHERE c.claim_no = number AND c.secret_hash IS NOT NULL AND c.secret_hash = secret
$$;

CREATE FUNCTION riskmap_public_claim_steps(number text, secret text)
RETURNS TABLE (step text, to_state text, on_date date, at timestamptz)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
  SELECT s.step, s.to_state, s.on_date, s.at FROM lifecycle_step s
  JOIN claim c ON c.id = s.entity_id AND s.lifecycle = 'claim'
  WHERE c.claim_no = number AND c.secret_hash IS NOT NULL AND c.secret_hash = secret
  ORDER BY s.id
$$;

-- An owner's claim, written for the public after the cover check (geo/claims.py).
CREATE FUNCTION riskmap_public_file_claim(pid int, sect text, unit text, what text, who text,
                                          phone text, emergency boolean, day date,
                                          secret text)
RETURNS TABLE (id int, claim_no text)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
  chosen int;
  number text;
  new_id int;
BEGIN
  SELECT po.id INTO chosen FROM policy po JOIN coverage_section cs ON cs.policy_id = po.id
  WHERE po.project_id = pid AND cs.section = sect AND po.status IN ('submitted', 'confirmed')
  ORDER BY po.id LIMIT 1;
  IF chosen IS NULL THEN
    RAISE EXCEPTION 'project % has no live cover for section %', pid, sect
      USING ERRCODE = 'check_violation';
  END IF;
  new_id := nextval('claim_id_seq');
  number := 'CL' || to_char(day, 'YYYYMMDD') || lpad(new_id::text, 6, '0');
  INSERT INTO claim (id, claim_no, policy_id, unit_no, reporter_name, reporter_phone, section,
                     cause, description, is_emergency, status, reported_on, secret_hash)
  VALUES (new_id, number, chosen, unit, who, phone, sect, what, what, emergency, 'reported',
          day, secret);
  RETURN QUERY SELECT new_id, number;
END $$;

DO $$ BEGIN
  IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'riskmap_web') THEN
    GRANT SELECT, INSERT, UPDATE ON risk_management, claim_dispute, claim_subrogation
      TO riskmap_web;
    GRANT SELECT, INSERT ON lifecycle_step, document TO riskmap_web;
    GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO riskmap_web;
  END IF;
END $$;
