-- Staging table for an organisation file, filled by COPY; dropped with the transaction.
CREATE TEMP TABLE stage_organisation (
  name text, kind text, uscc text, short_name text, claim_hotline text
) ON COMMIT DROP
