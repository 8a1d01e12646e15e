-- Each live policy's exposure for one insurer (:insurer) or the whole market (NULL), with its
-- project's place and parties (layers/exposure.py accumulates them).
-- gross: the policy's sum insured; own: the insurer's share of it (lead or co-insurer; the
-- market's own is the gross); net: own less what the policy cedes to reinsurers (each
-- co-insurer cedes in proportion). Live: submitted or confirmed, and the structure cover (the
-- longest) not yet ended on the data's day.
WITH clock AS (
  SELECT COALESCE(as_of, (now() AT TIME ZONE 'Asia/Shanghai')::date) AS today FROM data_version
), ceded AS (
  SELECT policy_id, sum(share) AS share FROM reinsurance_share GROUP BY policy_id
)
SELECT po.id AS policy_id, p.id AS project_id, p.permit_no, p.name, p.district_code,
       riskmap_district_label(d.name, d.city_name, CAST(:prefix AS text)) AS district,
       ST_X(p.location) AS lon, ST_Y(p.location) AS lat,
       -- as float8 here: the accumulations add floats, and 200,000 Decimals cost a second
       CAST(po.sum_insured_yuan AS float8) AS gross_yuan,
       CAST(po.sum_insured_yuan * COALESCE(s.share, 1) AS float8) AS own_yuan,
       CAST(po.sum_insured_yuan * COALESCE(s.share, 1) * (1 - COALESCE(c.share, 0)) AS float8)
         AS net_yuan,
       CAST(COALESCE(s.share, 1) AS float8) AS share, CAST(COALESCE(c.share, 0) AS float8) AS ceded,
       dev.name AS developer, con.name AS contractor, sup.name AS supervisor,
       tis.name AS tis, COALESCE(to_char(p.completion_date, 'YYYY'), '未竣工') AS completion_year
FROM policy po
CROSS JOIN clock k
JOIN project p ON p.id = po.project_id
JOIN district d ON d.code = p.district_code
  AND (d.city_code = :city OR starts_with(d.code, :prefix))
JOIN organisation dev ON dev.id = p.developer_id
LEFT JOIN organisation con ON con.id = p.contractor_id
LEFT JOIN organisation sup ON sup.id = p.supervisor_id
LEFT JOIN organisation tis ON tis.id = po.tis_id
LEFT JOIN policy_share s ON s.policy_id = po.id AND s.insurer_id = CAST(:insurer AS int)
LEFT JOIN ceded c ON c.policy_id = po.id
WHERE po.status IN ('submitted', 'confirmed')
  AND (CAST(:insurer AS int) IS NULL OR s.insurer_id IS NOT NULL)
  AND (CAST(:district AS text) IS NULL OR p.district_code = :district)
  -- a box (degrees; NULL: everywhere) for the layers that show a part of the map
  AND (CAST(:west AS float8) IS NULL
       OR p.location && ST_MakeEnvelope(:west, :south, :east, :north, 4326))
  AND NOT EXISTS (SELECT 1 FROM coverage_section cs WHERE cs.policy_id = po.id
                  AND cs.section = 'structure' AND cs.ends_on <= k.today)
ORDER BY po.id
