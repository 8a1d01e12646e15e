-- Risk management, claims, accounts, publication and audit (second half of revision 0001).

CREATE TABLE inspection (
  id serial PRIMARY KEY,
  project_id int NOT NULL REFERENCES project ON DELETE CASCADE,
  tis_id int NOT NULL REFERENCES organisation,
  stage text NOT NULL REFERENCES project_stage,
  inspected_on date NOT NULL,
  findings text
);
CREATE INDEX inspection_project_idx ON inspection (project_id);
CREATE TRIGGER inspection_tis_kind BEFORE INSERT OR UPDATE ON inspection FOR EACH ROW
  EXECUTE FUNCTION check_organisation_kind('tis_id', 'tis');

CREATE TABLE risk_event (
  id serial PRIMARY KEY,
  event_no text NOT NULL UNIQUE CHECK (event_no <> ''),
  project_id int NOT NULL REFERENCES project ON DELETE CASCADE,
  inspection_id int REFERENCES inspection ON DELETE SET NULL,
  category text NOT NULL REFERENCES risk_category,
  severity text NOT NULL REFERENCES risk_severity,
  status text NOT NULL REFERENCES risk_event_status,
  description text,
  location_in_building text,
  found_on date NOT NULL,
  due_on date,
  closed_on date,
  CHECK (due_on IS NULL OR due_on >= found_on),
  CHECK (closed_on IS NULL OR closed_on >= found_on),
  CHECK ((status = 'closed') = (closed_on IS NOT NULL))
);
CREATE INDEX risk_event_project_idx ON risk_event (project_id);
CREATE INDEX risk_event_found_idx ON risk_event (found_on);
CREATE INDEX risk_event_status_idx ON risk_event (status, severity);

CREATE TABLE report (
  id serial PRIMARY KEY,
  project_id int NOT NULL REFERENCES project ON DELETE CASCADE,
  tis_id int NOT NULL REFERENCES organisation,
  kind text NOT NULL REFERENCES report_kind,
  submitted_on date NOT NULL,
  approved_on date CHECK (approved_on >= submitted_on),
  summary text
);
CREATE INDEX report_project_idx ON report (project_id);
CREATE TRIGGER report_tis_kind BEFORE INSERT OR UPDATE ON report FOR EACH ROW
  EXECUTE FUNCTION check_organisation_kind('tis_id', 'tis');

CREATE TABLE claim (
  id serial PRIMARY KEY,
  claim_no text NOT NULL UNIQUE CHECK (claim_no <> ''),
  policy_id int NOT NULL REFERENCES policy ON DELETE CASCADE,
  unit_no text NOT NULL,                              -- 房号
  reporter_name text NOT NULL,
  reporter_phone text,
  section text NOT NULL REFERENCES coverage_section_kind,
  cause text,
  exclusion text REFERENCES exclusion_cause,
  is_complex boolean NOT NULL DEFAULT false,
  is_emergency boolean NOT NULL DEFAULT false,
  status text NOT NULL REFERENCES claim_status,
  reported_on date NOT NULL,
  surveyed_on date CHECK (surveyed_on >= reported_on),
  decided_on date CHECK (decided_on >= reported_on),
  decision text CHECK (decision IN ('accepted', 'rejected')),
  decision_reason text,
  refusal_notified_on date CHECK (refusal_notified_on >= decided_on),
  agreed_on date CHECK (agreed_on >= decided_on),
  settled_on date CHECK (settled_on >= agreed_on),  -- repair done or payment made
  claimed_amount_yuan numeric(14, 2) CHECK (claimed_amount_yuan > 0),
  paid_amount_yuan numeric(14, 2) NOT NULL DEFAULT 0 CHECK (paid_amount_yuan >= 0),
  repairer_id int REFERENCES organisation,
  secret_hash text,  -- lets an owner look up this claim's progress with its number
  CHECK ((decision IS NULL) = (decided_on IS NULL)),
  CHECK (decision IS DISTINCT FROM 'rejected' OR (decision_reason IS NOT NULL AND paid_amount_yuan = 0)),
  CHECK (exclusion IS NULL OR decision IS DISTINCT FROM 'accepted'),
  -- IS NOT DISTINCT FROM: a missing decision must fail these, not pass them as NULL
  CHECK (agreed_on IS NULL OR decision IS NOT DISTINCT FROM 'accepted'),
  CHECK (refusal_notified_on IS NULL OR decision IS NOT DISTINCT FROM 'rejected'),
  CHECK (settled_on IS NULL OR agreed_on IS NOT NULL),
  -- the status says where the claim is; the decision must agree with it
  CHECK (CASE
    WHEN status IN ('reported', 'surveyed') THEN decision IS NULL
    WHEN status = 'rejected' THEN decision IS NOT DISTINCT FROM 'rejected'
    ELSE decision IS NOT DISTINCT FROM 'accepted' END),
  CHECK (status NOT IN ('settled', 'closed') OR settled_on IS NOT NULL),
  CHECK (status <> 'agreed' OR agreed_on IS NOT NULL)
);
CREATE INDEX claim_policy_idx ON claim (policy_id);
CREATE INDEX claim_reported_idx ON claim (reported_on);
CREATE TRIGGER claim_repairer_kind BEFORE INSERT OR UPDATE ON claim FOR EACH ROW
  EXECUTE FUNCTION check_organisation_kind('repairer_id', 'repairer');

CREATE TABLE app_role (code text PRIMARY KEY, name_zh text NOT NULL);

CREATE TABLE app_user (
  id serial PRIMARY KEY,
  username text NOT NULL UNIQUE CHECK (username ~ '^[A-Za-z0-9_.@-]{3,64}$'),
  display_name text NOT NULL,
  role text NOT NULL REFERENCES app_role,
  organisation_id int REFERENCES organisation,
  password_hash text NOT NULL,
  is_active boolean NOT NULL DEFAULT true,
  created_at timestamptz NOT NULL DEFAULT now(),
  -- every role but the city's own staff acts for an organisation
  CHECK (role IN ('regulator', 'planner', 'admin') OR organisation_id IS NOT NULL)
);

CREATE TABLE layer_publication (
  id serial PRIMARY KEY,
  layer_id text NOT NULL,
  filters jsonb NOT NULL DEFAULT '{}',
  status text NOT NULL DEFAULT 'draft'
    CHECK (status IN ('draft', 'submitted', 'approved', 'rejected', 'withdrawn')),
  reason text,
  created_by int REFERENCES app_user,
  created_at timestamptz NOT NULL DEFAULT now(),
  decided_by int REFERENCES app_user,
  decided_at timestamptz,
  CHECK (status <> 'rejected' OR reason IS NOT NULL)
);

CREATE TABLE audit_log (
  id bigserial PRIMARY KEY,
  at timestamptz NOT NULL DEFAULT now(),
  user_id int REFERENCES app_user,
  actor text NOT NULL,          -- username, 'cli:<os user>' or 'anonymous'
  action text NOT NULL,
  target text,
  detail jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_log_at_idx ON audit_log (at);

-- Bumped by every statement that changes the programme's data (triggers below); maps and
-- caches derive their ETag from it. as_of is the day the data describes: NULL means today
-- (live data); a demo sets its own fixed day so that figures never drift with the clock.
CREATE TABLE data_version (
  id boolean PRIMARY KEY DEFAULT true CHECK (id),
  version bigint NOT NULL DEFAULT 1,
  changed_at timestamptz NOT NULL DEFAULT now(),
  as_of date
);
INSERT INTO data_version DEFAULT VALUES;

-- Only statements that changed rows bump it (the transition table "changed" holds them), so
-- an import that changes nothing leaves the maps' caches valid.
CREATE FUNCTION bump_data_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF EXISTS (SELECT 1 FROM changed) THEN
    UPDATE data_version SET version = version + 1, changed_at = now();
  END IF;
  RETURN NULL;
END $$;

CREATE FUNCTION bump_data_version_always() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE data_version SET version = version + 1, changed_at = now();
  RETURN NULL;
END $$;

DO $$
DECLARE
  t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['district', 'organisation', 'project', 'policy', 'policy_share',
    'reinsurance_share', 'coverage_section', 'inspection', 'risk_event', 'report', 'claim',
    'layer_publication'] LOOP
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

-- An organisation keeps its kind while anything refers to it in a role of that kind.
CREATE FUNCTION keep_organisation_kind() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF EXISTS (SELECT 1 FROM project WHERE OLD.id IN (developer_id, contractor_id, designer_id,
                                                    surveyor_id, supervisor_id))
     OR EXISTS (SELECT 1 FROM policy WHERE OLD.id IN (lead_insurer_id, tis_id))
     OR EXISTS (SELECT 1 FROM policy_share WHERE insurer_id = OLD.id)
     OR EXISTS (SELECT 1 FROM reinsurance_share WHERE reinsurer_id = OLD.id)
     OR EXISTS (SELECT 1 FROM inspection WHERE tis_id = OLD.id)
     OR EXISTS (SELECT 1 FROM report WHERE tis_id = OLD.id)
     OR EXISTS (SELECT 1 FROM claim WHERE repairer_id = OLD.id)
     OR EXISTS (SELECT 1 FROM app_user WHERE organisation_id = OLD.id) THEN
    RAISE EXCEPTION 'organisation % (%) is in use as a %: its kind cannot become %',
      OLD.id, OLD.name, OLD.kind, NEW.kind USING ERRCODE = 'check_violation';
  END IF;
  RETURN NEW;
END $$;
CREATE TRIGGER organisation_kind_in_use BEFORE UPDATE OF kind ON organisation
  FOR EACH ROW WHEN (OLD.kind IS DISTINCT FROM NEW.kind) EXECUTE FUNCTION keep_organisation_kind();

-- Users of an insurer, TIS or party act for an organisation of that kind.
CREATE FUNCTION check_user_organisation() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  org_kind text;
BEGIN
  -- a missing organisation is the CHECK's to report
  IF NEW.role IN ('insurer', 'tis', 'developer', 'contractor', 'supervisor')
     AND NEW.organisation_id IS NOT NULL THEN
    SELECT kind INTO org_kind FROM organisation WHERE id = NEW.organisation_id;
    IF org_kind IS DISTINCT FROM NEW.role THEN
      RAISE EXCEPTION 'user %: a % user must belong to a %, not a %',
        NEW.username, NEW.role, NEW.role, org_kind USING ERRCODE = 'check_violation';
    END IF;
  END IF;
  RETURN NEW;
END $$;
CREATE TRIGGER app_user_organisation_kind BEFORE INSERT OR UPDATE ON app_user
  FOR EACH ROW EXECUTE FUNCTION check_user_organisation();
