-- Staging table for a claim file, filled by COPY in the order of the kind's columns;
-- dropped with the transaction.
CREATE TEMP TABLE stage_claim (
  claim_no text, policy_no text, unit_no text, reporter_name text, reporter_phone text,
  section text, cause text, exclusion text, is_complex boolean, is_emergency boolean,
  reported_on date, surveyed_on date, decided_on date, decision text, decision_reason text,
  refusal_notified_on date, agreed_on date, settled_on date,
  claimed_amount_yuan numeric, paid_amount_yuan numeric, repairer text, status text
) ON COMMIT DROP
