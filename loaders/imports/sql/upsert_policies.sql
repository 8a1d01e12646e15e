-- New policies inserted, changed ones updated, identical ones untouched; counts kept for the end.
WITH written AS (
  INSERT INTO policy AS po (policy_no, project_id, lead_insurer_id, tis_id, premium_yuan, rate,
                            sum_insured_yuan, issue_date, status)
  SELECT s.policy_no, p.id, lead.id, tis.id, s.premium, s.rate, s.sum_insured, s.issue_date,
         s.status
  FROM stage_policy s
  JOIN project p ON p.permit_no = s.permit_no
  JOIN organisation lead ON lead.name = s.lead_insurer AND lead.kind = 'insurer'
  LEFT JOIN organisation tis ON tis.name = s.tis AND tis.kind = 'tis'
  ON CONFLICT (policy_no) DO UPDATE SET
    project_id = EXCLUDED.project_id, lead_insurer_id = EXCLUDED.lead_insurer_id,
    tis_id = EXCLUDED.tis_id, premium_yuan = EXCLUDED.premium_yuan, rate = EXCLUDED.rate,
    sum_insured_yuan = EXCLUDED.sum_insured_yuan, issue_date = EXCLUDED.issue_date,
    status = EXCLUDED.status
  WHERE (po.project_id, po.lead_insurer_id, po.tis_id, po.premium_yuan, po.rate,
         po.sum_insured_yuan, po.issue_date, po.status)
    IS DISTINCT FROM
        (EXCLUDED.project_id, EXCLUDED.lead_insurer_id, EXCLUDED.tis_id, EXCLUDED.premium_yuan,
         EXCLUDED.rate, EXCLUDED.sum_insured_yuan, EXCLUDED.issue_date, EXCLUDED.status)
  RETURNING (xmax = 0) AS inserted
)
INSERT INTO import_counts
SELECT count(*) FILTER (WHERE inserted), count(*) FILTER (WHERE NOT inserted) FROM written
