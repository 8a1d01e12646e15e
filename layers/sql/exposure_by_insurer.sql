-- Each insurer's own and net exposure over the live policies (the market view of the
-- regulator; an insurer is never shown this: its co-insurers' shares are theirs).
WITH clock AS (
  SELECT COALESCE(as_of, (now() AT TIME ZONE 'Asia/Shanghai')::date) AS today FROM data_version
), ceded AS (
  SELECT policy_id, sum(share) AS share FROM reinsurance_share GROUP BY policy_id
)
SELECT o.id, o.name, count(DISTINCT po.project_id) AS projects,
       sum(po.sum_insured_yuan) AS gross_yuan,
       sum(po.sum_insured_yuan * s.share) AS own_yuan,
       sum(po.sum_insured_yuan * s.share * (1 - COALESCE(c.share, 0))) AS net_yuan
FROM policy po
CROSS JOIN clock k
JOIN project p ON p.id = po.project_id
JOIN district d ON d.code = p.district_code
  AND (d.city_code = :city OR starts_with(d.code, :prefix))
JOIN policy_share s ON s.policy_id = po.id
JOIN organisation o ON o.id = s.insurer_id
LEFT JOIN ceded c ON c.policy_id = po.id
WHERE po.status IN ('submitted', 'confirmed')
  AND (CAST(:district AS text) IS NULL OR p.district_code = :district)
  AND NOT EXISTS (SELECT 1 FROM coverage_section cs WHERE cs.policy_id = po.id
                  AND cs.section = 'structure' AND cs.ends_on <= k.today)
GROUP BY o.id, o.name
ORDER BY net_yuan DESC
