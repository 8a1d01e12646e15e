-- One row per district of a city: programme counts and totals for the overview page.
-- :city is a GB/T 2260 city code, or NULL for every district in the store.
WITH projects AS (
  SELECT p.district_code, count(*) AS projects, sum(p.gross_floor_area_m2) AS floor_area_m2
  FROM project p GROUP BY p.district_code
), policies AS (
  SELECT p.district_code, count(*) AS policies, sum(po.premium_yuan) AS premium_yuan,
         sum(po.sum_insured_yuan) AS sum_insured_yuan
  FROM policy po JOIN project p ON p.id = po.project_id
  WHERE po.status NOT IN ('returned', 'cancelled')
  GROUP BY p.district_code
), risk AS (
  SELECT p.district_code, count(*) AS risk_events,
         count(*) FILTER (WHERE e.status <> 'closed') AS open_risk_events,
         count(*) FILTER (WHERE e.severity = 'severe') AS severe_risk_events
  FROM risk_event e JOIN project p ON p.id = e.project_id GROUP BY p.district_code
), claims AS (
  SELECT p.district_code, count(*) AS claims, sum(c.paid_amount_yuan) AS paid_yuan
  FROM claim c JOIN policy po ON po.id = c.policy_id JOIN project p ON p.id = po.project_id
  GROUP BY p.district_code
)
SELECT d.code, d.name, d.city_name,
       COALESCE(pr.projects, 0) AS projects,
       COALESCE(pr.floor_area_m2, 0) AS floor_area_m2,
       COALESCE(po.policies, 0) AS policies,
       COALESCE(po.premium_yuan, 0) AS premium_yuan,
       COALESCE(po.sum_insured_yuan, 0) AS sum_insured_yuan,
       COALESCE(r.risk_events, 0) AS risk_events,
       COALESCE(r.open_risk_events, 0) AS open_risk_events,
       COALESCE(r.severe_risk_events, 0) AS severe_risk_events,
       COALESCE(c.claims, 0) AS claims,
       COALESCE(c.paid_yuan, 0) AS paid_yuan
FROM district d
LEFT JOIN projects pr ON pr.district_code = d.code
LEFT JOIN policies po ON po.district_code = d.code
LEFT JOIN risk r ON r.district_code = d.code
LEFT JOIN claims c ON c.district_code = d.code
WHERE CAST(:city AS text) IS NULL OR d.city_code = CAST(:city AS text)
ORDER BY d.code
