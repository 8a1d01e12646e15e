DROP INDEX IF EXISTS risk_event_open_project_idx;
