-- The OGC API collection of an approved public layer: its frozen district values (a hidden
-- value is null, with suppressed true), as the public map shows them.
SELECT trim(d.code) AS code, d.name, CAST(v.value AS float8) AS value, v.suppressed,
       ST_SimplifyPreserveTopology(d.boundary, 0.0005) AS geom
FROM published_value v
JOIN district d ON d.code = v.district_code
JOIN layer_publication pub ON pub.id = v.publication_id AND pub.status = 'approved'
WHERE v.publication_id = :publication_id
