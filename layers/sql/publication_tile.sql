-- One vector tile of an approved public layer: the districts of publication :pub with the
-- attributes the public GeoJSON gives them (:properties, a JSON object by district code:
-- frozen value, text, class, colour, suppressed). Nothing but approved, frozen values.
WITH feature AS (
  SELECT d.code, d.name,
         CAST(p.props ->> 'value' AS float8) AS value,
         p.props ->> 'value_text' AS value_text,
         CAST(p.props ->> 'class' AS int) AS class,
         p.props ->> 'colour' AS colour,
         CAST(p.props ->> 'suppressed' AS boolean) AS suppressed,
         ST_AsMVTGeom(ST_Transform(d.boundary, 3857), ST_TileEnvelope(:z, :x, :y),
                      :extent, :buffer, true) AS geom
  FROM published_value v
  JOIN layer_publication lp ON lp.id = v.publication_id AND lp.status = 'approved'
  JOIN district d ON d.code = v.district_code
  CROSS JOIN LATERAL (SELECT CAST(:properties AS jsonb) -> trim(d.code) AS props) p
  WHERE v.publication_id = :pub
    AND d.boundary && ST_Transform(ST_ClipByBox2D(
      ST_TileEnvelope(:z, :x, :y, margin => :margin), ST_TileEnvelope(0, 0, 0)), 4326)
)
SELECT ST_AsMVT(feature, 'districts', :extent, 'geom')
FROM feature
WHERE geom IS NOT NULL
