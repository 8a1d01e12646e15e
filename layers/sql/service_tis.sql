-- TIS: the insurers' ratings (1–5) given on approving their final reports.
SELECT t.tis_name AS tis, count(*) AS ratings, avg(t.rating) AS mean_rating,
       min(t.rating) AS lowest, max(t.rating) AS highest
FROM tis_rated t
GROUP BY t.tis_id, t.tis_name
ORDER BY avg(t.rating) DESC, t.tis_name
