-- The project in scope nearest to a clicked point, within a radius in metres
-- (follows scope.sql and period_project.sql).
SELECT p.id
FROM period_project p
WHERE ST_DWithin(p.location::geography, ST_SetSRID(ST_MakePoint(:lon, :lat), 4326)::geography,
                 :radius)
ORDER BY p.location <-> ST_SetSRID(ST_MakePoint(:lon, :lat), 4326)
LIMIT 1
