-- claim_step (stats_base.sql) counted: each deadline step of the claims of claim_cube, by
-- lead insurer, step and whether it was late (NULL: not due, left out).
, claim_step_cube AS (
  SELECT c.lead_insurer_name, step.name, step.late, sum(c.n) AS n
  FROM claim_cube c CROSS JOIN LATERAL (VALUES
    ('survey', c.survey_late), ('decision', c.decision_late),
    ('settlement', c.settlement_late), ('refusal_notice', c.refusal_notice_late)) step(name, late)
  WHERE step.late IS NOT NULL
  GROUP BY 1, 2, 3
)
