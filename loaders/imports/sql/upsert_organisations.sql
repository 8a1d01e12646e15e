-- Organisations by name: new ones inserted, changed ones updated, identical ones untouched.
WITH written AS (
  INSERT INTO organisation AS o (name, kind, uscc, short_name, claim_hotline)
  SELECT name, kind, uscc, short_name, claim_hotline FROM stage_organisation
  ON CONFLICT (name) DO UPDATE SET kind = EXCLUDED.kind,
    uscc = COALESCE(EXCLUDED.uscc, o.uscc), short_name = COALESCE(EXCLUDED.short_name, o.short_name),
    claim_hotline = COALESCE(EXCLUDED.claim_hotline, o.claim_hotline)
  WHERE (o.kind, o.uscc, o.short_name, o.claim_hotline) IS DISTINCT FROM
        (EXCLUDED.kind, COALESCE(EXCLUDED.uscc, o.uscc), COALESCE(EXCLUDED.short_name, o.short_name),
         COALESCE(EXCLUDED.claim_hotline, o.claim_hotline))
  RETURNING (xmax = 0) AS inserted
)
SELECT count(*) FILTER (WHERE inserted) AS inserted,
       count(*) FILTER (WHERE NOT inserted) AS updated
FROM written
