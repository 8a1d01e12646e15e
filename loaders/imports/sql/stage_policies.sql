-- Staging table for a policy file, filled by COPY; shares, reinsurance and riders arrive as
-- JSON lists built by loaders/imports/policies.py. Dropped with the transaction.
CREATE TEMP TABLE stage_policy (
  policy_no text, permit_no text, lead_insurer text, lead_share numeric, co_insurers text,
  reinsurers text, tis text, premium numeric, rate numeric, sum_insured numeric,
  issue_date date, status text, riders text
) ON COMMIT DROP;
CREATE TEMP TABLE import_counts (inserted int, updated int) ON COMMIT DROP
