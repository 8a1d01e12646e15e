-- Heat of claims (follows scope.sql): the claims on scoped policies reported in the period, at
-- their projects inside the view's box (:west/:south/:east/:north, NULL for all), weighted by
-- the amount paid or, until something is paid, claimed, summed in grid cells of :cell degrees
-- and scaled so that the heaviest cell is 1 (a cell of claims without amounts weighs 0).
, heat_point AS (
  SELECT p.location,
         CASE WHEN c.paid_amount_yuan > 0 THEN c.paid_amount_yuan
              ELSE COALESCE(c.claimed_amount_yuan, 0) END AS amount
  FROM claim c
  JOIN scoped_policy sp ON sp.id = c.policy_id
  JOIN project p ON p.id = sp.project_id
  WHERE (CAST(:date_from AS date) IS NULL OR c.reported_on >= :date_from)
    AND (CAST(:date_to AS date) IS NULL OR c.reported_on <= :date_to)
    AND (CAST(:west AS float8) IS NULL
         OR p.location && ST_MakeEnvelope(:west, :south, :east, :north, 4326))
), heat_cell AS (
  SELECT avg(ST_Y(location)) AS lat, avg(ST_X(location)) AS lon, sum(amount) AS amount,
         count(*) AS claims
  FROM heat_point
  GROUP BY floor(ST_X(location) / :cell), floor(ST_Y(location) / :cell)
)
SELECT round(CAST(lat AS numeric), 5) AS lat, round(CAST(lon AS numeric), 5) AS lon,
       CAST(COALESCE(amount / NULLIF(max(amount) OVER (), 0), 0) AS float8) AS weight, claims
FROM heat_cell
ORDER BY 1, 2
LIMIT :limit
