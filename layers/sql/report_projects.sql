-- A district's projects for its report, after scope.sql and stats_base.sql: each project in
-- scope with its period's premium, risk events and claims, riskiest first.
, project_money AS (
  SELECT project_id, sum(premium_yuan) AS premium_yuan, sum(sum_insured_yuan) AS sum_insured_yuan
  FROM stat_policy GROUP BY project_id
), project_parties AS (
  -- who insures and inspects the project, whatever the period
  SELECT sp.project_id, string_agg(DISTINCT o.name, '、') AS insurers,
         string_agg(DISTINCT t.name, '、') AS tis
  FROM scoped_policy sp JOIN organisation o ON o.id = sp.lead_insurer_id
  LEFT JOIN organisation t ON t.id = sp.tis_id
  GROUP BY sp.project_id
), project_events AS (
  SELECT project_id, count(*) AS risk_events,
         count(*) FILTER (WHERE status <> 'closed') AS open_risk_events,
         count(*) FILTER (WHERE status <> 'closed' AND severity = 'severe')
           AS severe_open_risk_events,
         sum(severity_weight) FILTER (WHERE status <> 'closed') AS open_weight
  FROM stat_event GROUP BY project_id
), project_claims AS (
  SELECT sp.project_id, count(*) AS claims, sum(c.paid_share_yuan) AS paid_yuan
  FROM stat_claim c JOIN scoped_policy sp ON sp.id = c.policy_id GROUP BY sp.project_id
)
SELECT p.id, p.permit_no, p.name, p.community, s.name_zh AS stage, dev.name AS developer,
       pp.insurers, pp.tis, p.gross_floor_area_m2, p.units,
       COALESCE(m.premium_yuan, 0) / 10000 AS premium_wan,
       COALESCE(m.sum_insured_yuan, 0) / 10000 AS sum_insured_wan,
       COALESCE(e.risk_events, 0) AS risk_events,
       COALESCE(e.open_risk_events, 0) AS open_risk_events,
       COALESCE(e.severe_open_risk_events, 0) AS severe_open_risk_events,
       COALESCE(c.claims, 0) AS claims, COALESCE(c.paid_yuan, 0) / 10000 AS paid_wan,
       ST_X(p.location) AS lon, ST_Y(p.location) AS lat
FROM city_project p
JOIN project_stage s ON s.code = p.stage
JOIN organisation dev ON dev.id = p.developer_id
LEFT JOIN project_parties pp ON pp.project_id = p.id
LEFT JOIN project_money m ON m.project_id = p.id
LEFT JOIN project_events e ON e.project_id = p.id
LEFT JOIN project_claims c ON c.project_id = p.id
WHERE p.district_code = :code
  -- with a period, the projects that had business in it; without one, the whole portfolio
  AND (CAST(:date_from AS date) IS NULL AND CAST(:date_to AS date) IS NULL
       OR m.project_id IS NOT NULL OR e.project_id IS NOT NULL OR c.project_id IS NOT NULL)
ORDER BY COALESCE(e.open_weight, 0) DESC, COALESCE(e.risk_events, 0) DESC, p.permit_no
