-- Projects found by a search text (layers/search.py).
-- The text is matched against the project's name and residential community (小区), and the
-- names (or short names) of its developer, contractor, insurers (lead or co-insurer, through
-- policy_share) and TIS (policy.tis_id). Row security of the caller's connection decides which
-- projects and policies there are to find: a tenant finds only its own.
-- Bound: :q (the normalised text), :contains (ILIKE pattern, the user's % and _ escaped),
-- :in_order (ILIKE patterns of the text's characters in order, for a character missing or
-- mistyped), :trigram (least word similarity for a near match of a project's name or
-- community), :district, :stage, :insurer, :tis, :limit.
WITH source AS (
  -- trigram similarity is asked of project names and communities only: organisations share
  -- their trade's words (置业有限公司, 财产保险股份有限公司, 工程质量风险管理有限公司), so
  -- rivals' names are trigram-similar (0.56–0.69) whoever is meant
  SELECT 'project' AS owner, p.id, 1 AS field_ord, p.name AS value, false AS is_short,
         true AS trigram
  FROM project p
  UNION ALL
  SELECT 'project', p.id, 2, p.community, false, true
  FROM project p WHERE p.community IS NOT NULL
  UNION ALL
  SELECT 'organisation', o.id, 0, v.value, v.is_short, false
  FROM organisation o
  CROSS JOIN LATERAL (VALUES (o.name, false), (o.short_name, true)) v (value, is_short)
  WHERE o.kind IN ('developer', 'contractor', 'insurer', 'tis') AND v.value <> ''
), scored AS (
  -- the whole text found in a value ranks above any near match: an exact value scores 1 (an
  -- organisation's exact short name 0.95), a value holding it 0.6–1 (the more of the value it
  -- covers, the higher), a near match 0.25–0.6
  SELECT s.owner, s.id, s.field_ord, s.value,
         CASE WHEN lower(s.value) = lower(:q) AND s.is_short THEN 'short_name'
              WHEN lower(s.value) = lower(:q) THEN 'exact'
              WHEN s.value ILIKE :contains THEN 'contains'
              ELSE 'fuzzy' END AS how,
         CASE WHEN lower(s.value) = lower(:q) AND s.is_short THEN 0.95
              WHEN lower(s.value) = lower(:q) THEN 1.0
              WHEN s.value ILIKE :contains
                THEN 0.6 + 0.4 * char_length(:q) / CAST(char_length(s.value) AS float8)
              ELSE 0.25 + 0.35 * word_similarity(:q, s.value) END AS score
  FROM source s
  WHERE s.value ILIKE :contains
     OR s.value ILIKE ANY (CAST(:in_order AS text[]))
     OR (s.trigram AND word_similarity(:q, s.value) >= :trigram)
), org_hit AS (
  -- an organisation found by its name or its short name shows its full name
  SELECT DISTINCT ON (sc.id) sc.id, o.name, sc.how, sc.score
  FROM scored sc JOIN organisation o ON o.id = sc.id
  WHERE sc.owner = 'organisation'
  ORDER BY sc.id, sc.score DESC
), hit AS (
  SELECT sc.id AS project_id, sc.field_ord, sc.value, sc.how, sc.score
  FROM scored sc WHERE sc.owner = 'project'
  UNION ALL
  SELECT p.id, 3, h.name, h.how, h.score FROM project p JOIN org_hit h ON h.id = p.developer_id
  UNION ALL
  SELECT p.id, 4, h.name, h.how, h.score FROM project p JOIN org_hit h ON h.id = p.contractor_id
  UNION ALL
  SELECT DISTINCT po.project_id, 5, h.name, h.how, h.score
  FROM policy po JOIN policy_share s ON s.policy_id = po.id JOIN org_hit h ON h.id = s.insurer_id
  UNION ALL
  SELECT DISTINCT po.project_id, 6, h.name, h.how, h.score
  FROM policy po JOIN org_hit h ON h.id = po.tis_id
), found AS (
  SELECT project_id, max(score) AS score, count(DISTINCT field_ord) AS fields,
         jsonb_agg(jsonb_build_object('field_ord', field_ord, 'value', value, 'how', how,
                                      'score', score) ORDER BY score DESC, field_ord, value)
           AS matches
  FROM hit GROUP BY project_id
)
SELECT p.id, p.permit_no, p.name, p.community, trim(p.district_code) AS district_code,
       d.name AS district, p.stage, st.name_zh AS stage_zh,
       ST_X(p.location) AS lon, ST_Y(p.location) AS lat, f.score, f.matches
FROM found f
JOIN project p ON p.id = f.project_id
JOIN district d ON d.code = p.district_code
JOIN project_stage st ON st.code = p.stage
-- the layers' filters, but on any policy of the project whatever its status: a search looks a
-- project up (its page shows every policy), it does not count premium
WHERE (CAST(:district AS text) IS NULL OR p.district_code = :district)
  AND (CAST(:stage AS text) IS NULL OR p.stage = :stage)
  AND (CAST(:insurer AS int) IS NULL OR EXISTS (
        SELECT 1 FROM policy po JOIN policy_share s ON s.policy_id = po.id
        WHERE po.project_id = p.id AND s.insurer_id = :insurer))
  AND (CAST(:tis AS int) IS NULL OR EXISTS (
        SELECT 1 FROM policy po WHERE po.project_id = p.id AND po.tis_id = :tis))
ORDER BY f.score DESC, f.fields DESC, p.name, p.id
LIMIT :limit
