DROP FUNCTION IF EXISTS riskmap_projects_in_box(float8, float8, float8, float8);

DO $$
DECLARE
  t text;
  op text;
BEGIN
  FOREACH t IN ARRAY ARRAY['programme_rule', 'exposure_limit', 'lifecycle_step', 'document',
    'risk_management', 'claim_dispute', 'claim_subrogation', 'project_grade', 'tis_grade',
    'service_rating', 'complaint', 'other_policy', 'layer_publication_step', 'published_value',
    'published_contribution'] LOOP
    FOREACH op IN ARRAY ARRAY['ins', 'upd', 'del', 'trunc'] LOOP
      EXECUTE format('DROP TRIGGER %I ON %I', t || '_' || op || '_bump', t);
    END LOOP;
  END LOOP;
END $$;

DO $$
DECLARE
  p record;
  back CONSTANT text := '\( SELECT (riskmap_(sees_all|role|org))\(\) AS riskmap_\w+\)';
BEGIN
  FOR p IN SELECT tablename, policyname, qual, with_check FROM pg_policies
           WHERE schemaname = 'public' LOOP
    IF p.qual IS NOT NULL AND p.qual ~ back THEN
      EXECUTE format('ALTER POLICY %I ON %I USING (%s)', p.policyname, p.tablename,
                     regexp_replace(p.qual, back, '\1()', 'g'));
    END IF;
    IF p.with_check IS NOT NULL AND p.with_check ~ back THEN
      EXECUTE format('ALTER POLICY %I ON %I WITH CHECK (%s)', p.policyname, p.tablename,
                     regexp_replace(p.with_check, back, '\1()', 'g'));
    END IF;
  END LOOP;
END $$;
