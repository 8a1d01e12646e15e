-- Quality ratings, service evaluation, repair tracking, complaints, other insurance (issue 9).

-- A project's grade by the platform's rule (layers/grades.py), kept with its history: a new
-- row whenever the grade or its inputs change; the latest row is the current grade.
CREATE TABLE project_grade (
  id bigserial PRIMARY KEY,
  project_id int NOT NULL REFERENCES project ON DELETE CASCADE,
  grade char(1) NOT NULL CHECK (grade IN ('A', 'B', 'C', 'D')),
  score numeric(8, 3) NOT NULL,
  inputs jsonb NOT NULL,                 -- the figures the rule used, to show how it decided
  computed_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX project_grade_project_idx ON project_grade (project_id, id DESC);

-- The TIS's own grade of a project, with its reason, beside the platform's.
CREATE TABLE tis_grade (
  id bigserial PRIMARY KEY,
  project_id int NOT NULL REFERENCES project ON DELETE CASCADE,
  tis_id int NOT NULL REFERENCES organisation,
  grade char(1) NOT NULL CHECK (grade IN ('A', 'B', 'C', 'D')),
  reason text NOT NULL CHECK (reason <> '' AND length(reason) <= 1000),
  graded_on date NOT NULL,
  user_id int REFERENCES app_user,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX tis_grade_project_idx ON tis_grade (project_id, id DESC);
CREATE TRIGGER tis_grade_kind BEFORE INSERT OR UPDATE ON tis_grade
  FOR EACH ROW EXECUTE FUNCTION check_organisation_kind('tis_id', 'tis');

-- An owner's rating of a closed claim's handling (one per claim).
CREATE TABLE service_rating (
  claim_id int PRIMARY KEY REFERENCES claim ON DELETE CASCADE,
  score int NOT NULL CHECK (score BETWEEN 1 AND 5),
  comment text CHECK (length(comment) <= 1000),
  rated_on date NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);

-- A claim reopened for the same defect: the earlier claim whose repair it counts against.
ALTER TABLE claim ADD COLUMN reopens_claim_id int REFERENCES claim;

CREATE TABLE complaint (
  id serial PRIMARY KEY,
  complaint_no text NOT NULL UNIQUE,
  party_kind text NOT NULL CHECK (party_kind IN ('insurer', 'tis', 'repairer', 'developer')),
  party_id int REFERENCES organisation,
  party_name text NOT NULL CHECK (party_name <> ''),
  project_id int REFERENCES project,
  district_code char(6) REFERENCES district,
  category text NOT NULL,
  body text NOT NULL CHECK (body <> '' AND length(body) <= 4000),
  contact text NOT NULL CHECK (contact <> '' AND length(contact) <= 200),
  status text NOT NULL DEFAULT 'received'
    CHECK (status IN ('received', 'handling', 'answered', 'closed')),
  answer text,
  received_on date NOT NULL,
  answered_on date,
  closed_on date,
  secret_hash text,
  CHECK (status NOT IN ('answered', 'closed') OR answer IS NOT NULL)
);
CREATE INDEX complaint_status_idx ON complaint (status);

-- Other insurance of a project (Kunming 三（四）): the participants' quality-liability policies
-- (工程质量责任保险 of the survey, design, construction and supervision units) and prefabricated
-- component IDI, each a policy of its own kind beside the project's IDI policies.
CREATE TABLE other_policy (
  id serial PRIMARY KEY,
  project_id int NOT NULL REFERENCES project ON DELETE CASCADE,
  kind text NOT NULL CHECK (kind IN ('liability_survey', 'liability_design',
    'liability_construction', 'liability_supervision', 'prefab_idi')),
  policy_no text NOT NULL UNIQUE CHECK (policy_no <> ''),
  insurer_id int NOT NULL REFERENCES organisation,
  insured_id int REFERENCES organisation,
  sum_insured_yuan numeric(16, 2) CHECK (sum_insured_yuan > 0),
  starts_on date,
  ends_on date,
  CHECK (ends_on IS NULL OR starts_on IS NULL OR ends_on > starts_on)
);
CREATE TRIGGER other_policy_insurer_kind BEFORE INSERT OR UPDATE ON other_policy
  FOR EACH ROW EXECUTE FUNCTION check_organisation_kind('insurer_id', 'insurer');

ALTER TABLE project_grade ENABLE ROW LEVEL SECURITY;
CREATE POLICY project_grade_tenant ON project_grade
  USING (riskmap_sees_all() OR project_id IN (SELECT v FROM riskmap_visible_projects() v));
ALTER TABLE tis_grade ENABLE ROW LEVEL SECURITY;
CREATE POLICY tis_grade_tenant ON tis_grade
  USING (riskmap_sees_all() OR project_id IN (SELECT v FROM riskmap_visible_projects() v));
ALTER TABLE service_rating ENABLE ROW LEVEL SECURITY;
CREATE POLICY service_rating_tenant ON service_rating
  USING (riskmap_sees_all() OR EXISTS (SELECT 1 FROM claim c WHERE c.id = claim_id));
ALTER TABLE other_policy ENABLE ROW LEVEL SECURITY;
CREATE POLICY other_policy_tenant ON other_policy
  USING (riskmap_sees_all() OR project_id IN (SELECT v FROM riskmap_visible_projects() v));
-- complaints are the regulator's to work; a party sees those about itself
ALTER TABLE complaint ENABLE ROW LEVEL SECURITY;
CREATE POLICY complaint_tenant ON complaint
  USING (riskmap_sees_all() OR party_id = riskmap_org());

-- The public's ways in (no account): rate a closed claim with its number and secret, file a
-- complaint, follow it with its number and secret.
CREATE FUNCTION riskmap_public_rate_claim(number text, secret text, given int, said text,
                                          day date) RETURNS text
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
  found_id int;
  found_status text;
BEGIN
  SELECT id, status INTO found_id, found_status FROM claim
  WHERE claim_no = number AND secret_hash IS NOT NULL AND secret_hash = secret;
  IF found_id IS NULL THEN RETURN 'unknown'; END IF;
  IF found_status <> 'closed' THEN RETURN 'not_closed'; END IF;
  INSERT INTO service_rating (claim_id, score, comment, rated_on)
  VALUES (found_id, given, said, day) ON CONFLICT (claim_id) DO NOTHING;
  RETURN CASE WHEN FOUND THEN 'rated' ELSE 'already_rated' END;
END $$;

CREATE FUNCTION riskmap_public_file_complaint(against text, party text, pid int, topic text,
                                              what text, reach text, day date, secret text)
RETURNS TABLE (id int, complaint_no text)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
  new_id int := nextval('complaint_id_seq');
  number text := 'TS' || to_char(day, 'YYYYMMDD') || lpad(new_id::text, 6, '0');
  party_org int;
BEGIN
  SELECT o.id INTO party_org FROM organisation o
  WHERE o.kind = against AND (o.name = party OR o.short_name = party) LIMIT 1;
  INSERT INTO complaint (id, complaint_no, party_kind, party_id, party_name, project_id,
                         district_code, category, body, contact, received_on, secret_hash)
  VALUES (new_id, number, against, party_org, party, pid,
          (SELECT district_code FROM project WHERE project.id = pid), topic, what, reach, day,
          secret);
  RETURN QUERY SELECT new_id, number;
END $$;

CREATE FUNCTION riskmap_public_complaint(number text, secret text)
RETURNS TABLE (complaint_no text, status text, party_name text, category text,
               received_on date, answer text, answered_on date, closed_on date)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
  SELECT c.complaint_no, c.status, c.party_name, c.category, c.received_on, c.answer,
         c.answered_on, c.closed_on FROM complaint c
  WHERE c.complaint_no = number AND c.secret_hash IS NOT NULL AND c.secret_hash = secret
$$;

-- The earlier claim a new claim reopens (the same defect — project, section and unit — repaired
-- within ``days`` before it was reported): set on the claim and returned. SECURITY DEFINER so
-- that an owner's filing, which reads no claim, is matched the same way as an insurer's.
CREATE FUNCTION riskmap_mark_reopened(claim int, days int) RETURNS int
LANGUAGE sql SECURITY DEFINER SET search_path = public, pg_temp AS $$
  UPDATE claim c SET reopens_claim_id = (
    SELECT e.id FROM claim e JOIN policy ep ON ep.id = e.policy_id
    WHERE ep.project_id = (SELECT po.project_id FROM policy po WHERE po.id = c.policy_id)
      AND e.id <> c.id AND e.section = c.section
      AND lower(btrim(e.unit_no)) = lower(btrim(c.unit_no))
      AND e.settled_on IS NOT NULL AND e.settled_on <= c.reported_on
      AND c.reported_on - e.settled_on <= days
    ORDER BY e.settled_on DESC, e.id DESC LIMIT 1)
  WHERE c.id = claim
  RETURNING c.reopens_claim_id
$$;

DO $$ BEGIN
  IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'riskmap_web') THEN
    GRANT SELECT, INSERT, UPDATE ON project_grade, tis_grade, service_rating, complaint,
      other_policy TO riskmap_web;
    GRANT UPDATE (reopens_claim_id) ON claim TO riskmap_web;
    GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO riskmap_web;
  END IF;
END $$;

-- The owner's channel (issue 9, Suizhou 四（七）): an insured building as the public sees it,
-- and who insures it (lead and co-insurers, names and claim hotlines only), for its page and
-- its 《工程质量潜在缺陷保险告知书》.
CREATE FUNCTION riskmap_public_building(pid int)
RETURNS TABLE (id int, name text, community text, address text, district text,
               developer text, completion_date date, delivery_date date)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
  SELECT p.id, p.name, p.community, p.address, d.name, dev.name, p.completion_date,
         p.delivery_date
  FROM project p JOIN district d ON d.code = p.district_code
  JOIN organisation dev ON dev.id = p.developer_id
  WHERE p.id = pid AND EXISTS (SELECT 1 FROM policy po WHERE po.project_id = p.id
                               AND po.status IN ('submitted', 'confirmed'))
$$;

CREATE FUNCTION riskmap_public_insurers(pid int)
RETURNS TABLE (policy_id int, policy_no text, insurer text, is_lead boolean, hotline text)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
  SELECT po.id, po.policy_no, o.name, s.is_lead, o.claim_hotline
  FROM policy po JOIN policy_share s ON s.policy_id = po.id
  JOIN organisation o ON o.id = s.insurer_id
  WHERE po.project_id = pid AND po.status IN ('submitted', 'confirmed')
  ORDER BY po.id, s.is_lead DESC, s.share DESC, o.name
$$;
