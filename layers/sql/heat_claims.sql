-- Heat-map points of claims (follows scope.sql): one per claim on a scoped policy reported
-- in the period, at its project, weighted by the amount paid or, until something is paid,
-- claimed; scaled so that the largest is 1 (a claim with neither amount weighs 0).
, claim_amount AS (
  SELECT c.id, p.location,
         CASE WHEN c.paid_amount_yuan > 0 THEN c.paid_amount_yuan
              ELSE COALESCE(c.claimed_amount_yuan, 0) END AS amount
  FROM claim c
  JOIN scoped_policy sp ON sp.id = c.policy_id
  JOIN project p ON p.id = sp.project_id
  WHERE (CAST(:date_from AS date) IS NULL OR c.reported_on >= :date_from)
    AND (CAST(:date_to AS date) IS NULL OR c.reported_on <= :date_to)
)
SELECT round(CAST(ST_Y(location) AS numeric), 6) AS lat,
       round(CAST(ST_X(location) AS numeric), 6) AS lon,
       CAST(COALESCE(amount / NULLIF(max(amount) OVER (), 0), 0) AS float8) AS weight
FROM claim_amount
ORDER BY id
