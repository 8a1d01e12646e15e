-- The claims of stat_claim (stats_base.sql) counted, and their paid share added up, by every
-- column the statistics group or filter them by (layers/statistics.py, CLAIM_CUBE): by codes
-- first and named after, as the planner sorts the named rows (it cannot tell how few cells
-- they make) and sorting 580,000 claims by Chinese names took seconds.
, claim_cube AS (
  SELECT riskmap_district_label(d.name, d.city_name, CAST(:prefix AS text)) AS district_name, COALESCE(o.short_name, o.name) AS lead_insurer_name,
         g.reported_on, g.status, g.filed, g.survey_late, g.decision_late, g.settlement_late,
         g.refusal_notice_late, sum(g.n) AS n, sum(g.paid_share_yuan) AS paid_share_yuan
  FROM (
    SELECT district_code, lead_insurer_id, date_trunc('month', reported_on)::date AS reported_on,
           status, filed, survey_late, decision_late, settlement_late, refusal_notice_late,
           count(*) AS n, sum(paid_share_yuan) AS paid_share_yuan
    FROM stat_claim GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9
  ) g
  JOIN district d ON d.code = g.district_code
  JOIN organisation o ON o.id = g.lead_insurer_id
  GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9
)
