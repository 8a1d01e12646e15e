-- Staging table for a risk event file, filled by COPY in the order of the kind's columns
-- (loaders/imports/risk_events.py); dropped with the transaction.
CREATE TEMP TABLE stage_risk_event (
  event_no text, permit_no text, category text, severity text, status text,
  description text, location_in_building text, found_on date, due_on date, closed_on date,
  tis text, stage text
) ON COMMIT DROP
