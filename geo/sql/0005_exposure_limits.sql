-- Limits an insurer sets on its own accumulations (issue 7): e.g. at most 5 亿元 net within
-- any 200 m circle. Only the insurer's own users may read or change its limits; the city's
-- staff read every insurer's.

CREATE TABLE exposure_limit (
  id serial PRIMARY KEY,
  insurer_id int NOT NULL REFERENCES organisation,
  measure text NOT NULL CHECK (measure IN ('circle', 'cell', 'district', 'developer',
                                           'contractor', 'supervisor', 'tis', 'completion_year')),
  basis text NOT NULL DEFAULT 'net' CHECK (basis IN ('gross', 'own', 'net')),
  -- the circle's radius or the cell's side, in metres; none for the other measures
  size_m int CHECK (size_m BETWEEN 25 AND 10000),
  max_yuan numeric(18, 2) NOT NULL CHECK (max_yuan > 0),
  note text NOT NULL DEFAULT '' CHECK (length(note) <= 200),
  created_by int REFERENCES app_user,
  created_at timestamptz NOT NULL DEFAULT now(),
  CHECK ((measure IN ('circle', 'cell')) = (size_m IS NOT NULL)),
  -- one limit per measure, basis and size (a district limit, with no size, once)
  UNIQUE NULLS NOT DISTINCT (insurer_id, measure, basis, size_m)
);
CREATE TRIGGER exposure_limit_insurer_kind BEFORE INSERT OR UPDATE ON exposure_limit
  FOR EACH ROW EXECUTE FUNCTION check_organisation_kind('insurer_id', 'insurer');

ALTER TABLE exposure_limit ENABLE ROW LEVEL SECURITY;
CREATE POLICY exposure_limit_read ON exposure_limit FOR SELECT
  USING (riskmap_sees_all() OR (riskmap_role() = 'insurer' AND insurer_id = riskmap_org()));
CREATE POLICY exposure_limit_write ON exposure_limit FOR ALL
  USING (riskmap_role() = 'insurer' AND insurer_id = riskmap_org())
  WITH CHECK (riskmap_role() = 'insurer' AND insurer_id = riskmap_org());

DO $$ BEGIN
  IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'riskmap_web') THEN
    GRANT SELECT, INSERT, UPDATE, DELETE ON exposure_limit TO riskmap_web;
    GRANT USAGE ON SEQUENCE exposure_limit_id_seq TO riskmap_web;
  END IF;
END $$;
