-- Continues scope.sql: each project's part in its district's published values, for one date
-- basis (:basis), with the money the dominance rule weighs. The period applies as in
-- district_metrics.sql: policy issue, risk event found, claim reported.
SELECT p.district_code AS district, sp.project_id,
       sum(sp.premium_yuan) AS premium_yuan, sum(sp.sum_insured_yuan) AS sum_insured_yuan,
       max(p.construction_cost_yuan) AS construction_cost_yuan, 0 AS paid_yuan
FROM scoped_policy sp JOIN project p ON p.id = sp.project_id
JOIN district d ON d.code = p.district_code AND d.city_code = :city
WHERE :basis = 'policy'
  AND (CAST(:date_from AS date) IS NULL OR sp.issue_date >= :date_from)
  AND (CAST(:date_to AS date) IS NULL OR sp.issue_date <= :date_to)
GROUP BY p.district_code, sp.project_id
UNION ALL
SELECT p.district_code, p.id, 0, 0, 0, 0
FROM scoped_project p JOIN district d ON d.code = p.district_code AND d.city_code = :city
WHERE :basis = 'risk_event' AND EXISTS (
  SELECT 1 FROM risk_event e WHERE e.project_id = p.id
    AND (CAST(:date_from AS date) IS NULL OR e.found_on >= :date_from)
    AND (CAST(:date_to AS date) IS NULL OR e.found_on <= :date_to))
UNION ALL
SELECT p.district_code, sp.project_id, 0, 0, 0, sum(COALESCE(c.paid_amount_yuan, 0) * sp.share)
FROM claim c JOIN scoped_policy sp ON sp.id = c.policy_id JOIN project p ON p.id = sp.project_id
JOIN district d ON d.code = p.district_code AND d.city_code = :city
WHERE :basis = 'claim'
  AND (CAST(:date_from AS date) IS NULL OR c.reported_on >= :date_from)
  AND (CAST(:date_to AS date) IS NULL OR c.reported_on <= :date_to)
GROUP BY p.district_code, sp.project_id
