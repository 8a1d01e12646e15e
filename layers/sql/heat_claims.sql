-- Heat of claims (follows scope.sql; heat_cells.sql follows it): the claims on scoped policies
-- reported in the period, at their projects inside the view's box (:west/:south/:east/:north,
-- NULL for all), weighted by the amount paid or, until something is paid, claimed (the
-- caller scales the cells so that the heaviest is 1). Added up by project first.
, heat_point AS (
  SELECT ST_X(p.location) AS x, ST_Y(p.location) AS y,
         sum(CASE WHEN c.paid_amount_yuan > 0 THEN c.paid_amount_yuan
                  ELSE COALESCE(c.claimed_amount_yuan, 0) END) AS weight,
         count(*) AS events
  FROM claim c
  JOIN scoped_policy sp ON sp.id = c.policy_id
  JOIN project p ON p.id = sp.project_id
  WHERE (CAST(:date_from AS date) IS NULL OR c.reported_on >= :date_from)
    AND (CAST(:date_to AS date) IS NULL OR c.reported_on <= :date_to)
    AND (CAST(:west AS float8) IS NULL
         OR p.location && ST_MakeEnvelope(:west, :south, :east, :north, 4326))
  GROUP BY p.id
)
