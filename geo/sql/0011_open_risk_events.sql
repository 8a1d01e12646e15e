-- The risk events not yet closed, by project: a small share of all events (most are closed),
-- which every tile's and popup's open-event count looks up per project. A partial index keeps
-- those lookups to the open events only, however long the programme's history grows.
CREATE INDEX IF NOT EXISTS risk_event_open_project_idx ON risk_event (project_id)
  WHERE status <> 'closed';
