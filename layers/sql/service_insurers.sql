-- Lead insurers (who handle the claims): claims, repairs, reopened claims and owners' scores.
SELECT s.lead_insurer_name AS insurer, count(*) AS claims,
       count(*) FILTER (WHERE s.settled_on IS NOT NULL) AS settled,
       count(*) FILTER (WHERE s.reopens_claim_id IS NOT NULL) AS reopened,
       100.0 * count(*) FILTER (WHERE s.reopens_claim_id IS NOT NULL)
         / NULLIF(count(*) FILTER (WHERE s.settled_on IS NOT NULL), 0) AS reopen_rate,
       count(s.score) AS ratings, avg(s.score) AS mean_score
FROM service_claim s
GROUP BY s.lead_insurer_name
ORDER BY count(*) DESC, s.lead_insurer_name
