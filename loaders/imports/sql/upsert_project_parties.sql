-- Parties named in the file that the store does not know yet become organisations.
INSERT INTO organisation (name, kind, uscc)
SELECT DISTINCT ON (name) name, kind, uscc
FROM (
  SELECT developer AS name, 'developer' AS kind, developer_uscc AS uscc FROM stage_project
  UNION ALL SELECT contractor, 'contractor', NULL FROM stage_project
  UNION ALL SELECT supervisor, 'supervisor', NULL FROM stage_project
  UNION ALL SELECT designer, 'designer', NULL FROM stage_project
  UNION ALL SELECT surveyor, 'surveyor', NULL FROM stage_project
) named
WHERE name IS NOT NULL
ORDER BY name, uscc NULLS LAST
ON CONFLICT (name) DO NOTHING
