-- The rows of the service evaluation (服务评价), after scope.sql and stats_base.sql
-- (layers/service.py): the statistics' claims (reported in the period, in the filters' scope)
-- with the owner's rating and the repairer; the repairs among them; the insurers' ratings of
-- the TIS after the final report (the period applies to the day of that approval).
, service_claim AS (
  SELECT c.id, c.status, c.settled_on, c.reopens_claim_id, c.repairer_id, c.lead_insurer_name,
         r.score, COALESCE(rp.short_name, rp.name) AS repairer_name
  FROM stat_claim c LEFT JOIN service_rating r ON r.claim_id = c.id
  LEFT JOIN organisation rp ON rp.id = c.repairer_id
), rated_claim AS (
  SELECT * FROM service_claim WHERE score IS NOT NULL
), repair AS (
  -- a repair: a claim repaired or paid with its repairer recorded; reopened by every claim
  -- (whenever reported) whose reopens_claim_id points at it
  SELECT s.*, (SELECT count(*) FROM claim x WHERE x.reopens_claim_id = s.id) AS reopened_by
  FROM service_claim s WHERE s.settled_on IS NOT NULL AND s.repairer_id IS NOT NULL
), tis_rated AS (
  SELECT m.id, m.tis_id, m.tis_rating AS rating, COALESCE(o.short_name, o.name) AS tis_name
  FROM risk_management m JOIN city_project p ON p.id = m.project_id
  JOIN organisation o ON o.id = m.tis_id
  LEFT JOIN LATERAL (SELECT max(s.on_date) AS on_date FROM lifecycle_step s
                     WHERE s.lifecycle = 'risk_management' AND s.entity_id = m.id
                       AND s.step = 'approve_final') f ON true
  WHERE m.tis_rating IS NOT NULL
    AND (CAST(:tis AS int) IS NULL OR m.tis_id = :tis)
    AND (CAST(:date_from AS date) IS NULL OR f.on_date >= :date_from)
    AND (CAST(:date_to AS date) IS NULL OR f.on_date <= :date_to)
)
