DROP FUNCTION riskmap_rebuild_map_projects();
ALTER FUNCTION riskmap_rebuild_map_project_rows() RENAME TO riskmap_rebuild_map_projects;
ALTER TABLE map_project SET WITHOUT CLUSTER;
DROP TRIGGER organisation_upd_map ON organisation;
DROP TRIGGER policy_share_trunc_map ON policy_share;
DROP TRIGGER policy_share_del_map ON policy_share;
DROP TRIGGER policy_share_upd_map ON policy_share;
DROP TRIGGER policy_share_ins_map ON policy_share;
DROP FUNCTION riskmap_map_label_changed();
DROP FUNCTION riskmap_refresh_map_projects(int[], date[]);
ALTER FUNCTION riskmap_refresh_map_project_rows(int[], date[])
  RENAME TO riskmap_refresh_map_projects;
DROP FUNCTION riskmap_label_map_projects(int[]);
ALTER TABLE map_project DROP COLUMN name, DROP COLUMN permit_no, DROP COLUMN community,
  DROP COLUMN insurers;
