DO $$
DECLARE
  t text;
  op text;
BEGIN
  FOREACH t IN ARRAY ARRAY['project', 'policy', 'risk_event', 'project_grade', 'claim'] LOOP
    FOREACH op IN ARRAY ARRAY['ins', 'upd', 'del', 'trunc'] LOOP
      EXECUTE format('DROP TRIGGER %I ON %I', t || '_' || op || '_map', t);
    END LOOP;
  END LOOP;
END $$;
DROP FUNCTION riskmap_map_projects_in_box(float8, float8, float8, float8);
DROP FUNCTION riskmap_map_project_changed();
DROP FUNCTION riskmap_rebuild_map_projects();
DROP FUNCTION riskmap_refresh_map_projects(int[], date[]);
DROP FUNCTION riskmap_district_days(text, date, date);
DROP FUNCTION riskmap_refresh_district_days(text[], date[]);
DROP TABLE map_project, district_day;
