-- One row per import attempt that wrote something (or was asked to).
CREATE TABLE import_log (
  id serial PRIMARY KEY,
  kind text NOT NULL CHECK (kind IN ('organisations', 'projects', 'policies', 'risk-events',
                                     'claims')),
  file_name text NOT NULL,
  file_sha256 char(64) NOT NULL,
  actor text NOT NULL,
  started_at timestamptz NOT NULL,
  finished_at timestamptz NOT NULL DEFAULT now(),
  rows_read int NOT NULL CHECK (rows_read >= 0),
  rows_inserted int NOT NULL CHECK (rows_inserted >= 0),
  rows_updated int NOT NULL CHECK (rows_updated >= 0),
  rows_unchanged int NOT NULL CHECK (rows_unchanged >= 0),
  rows_rejected int NOT NULL CHECK (rows_rejected >= 0),
  partial boolean NOT NULL DEFAULT false
);
CREATE INDEX import_log_file_idx ON import_log (file_sha256);
