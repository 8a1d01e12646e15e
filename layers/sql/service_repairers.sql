-- Repairers (维修单位施工质量跟踪): their repairs, the claims that reopened them, the reopen
-- rate (reopening claims ÷ repairs) and the owners' scores of the repaired claims.
SELECT r.repairer_id AS id, r.repairer_name AS repairer, count(*) AS repaired,
       sum(r.reopened_by)::int AS reopened,
       100.0 * sum(r.reopened_by) / count(*) AS reopen_rate,
       count(r.score) AS ratings, avg(r.score) AS mean_score
FROM repair r
GROUP BY r.repairer_id, r.repairer_name
ORDER BY count(*) DESC, r.repairer_name
