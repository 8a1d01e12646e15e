CREATE OR REPLACE FUNCTION riskmap_rebuild_map_projects() RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
  LOCK TABLE map_project, district_day IN EXCLUSIVE MODE;
  TRUNCATE map_project, district_day;
  PERFORM riskmap_refresh_map_projects(ARRAY(SELECT id FROM project));
END $$;
