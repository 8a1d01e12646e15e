-- The filters every layer shares (prefix of the layers' queries; they continue with ", ...").
-- The insurer filter holds any share of the policy (lead or co-insurer), and the policy's money then
-- counts at that insurer's share, so an insurer sees its own portfolio; the TIS filter is the
-- policy's TIS; district and stage apply to the project. The period is applied by each
-- layer to its own date (policy issue, risk event found, claim reported).
WITH scoped_policy AS (
  SELECT po.id, po.project_id, po.rate, po.issue_date, po.lead_insurer_id, po.tis_id,
         COALESCE(s.share, 1) AS share,
         po.premium_yuan * COALESCE(s.share, 1) AS premium_yuan,
         po.sum_insured_yuan * COALESCE(s.share, 1) AS sum_insured_yuan
  FROM policy po
  JOIN project p ON p.id = po.project_id
  LEFT JOIN policy_share s ON s.policy_id = po.id AND s.insurer_id = CAST(:insurer AS int)
  WHERE po.status NOT IN ('returned', 'cancelled')
    AND (CAST(:insurer AS int) IS NULL OR s.insurer_id IS NOT NULL)
    AND (CAST(:tis AS int) IS NULL OR po.tis_id = :tis)
    AND (CAST(:district AS text) IS NULL OR p.district_code = :district)
    AND (CAST(:stage AS text) IS NULL OR p.stage = :stage)
    /*box*/ /*area*/
), scoped_project AS (
  SELECT p.* FROM project p
  WHERE EXISTS (SELECT 1 FROM scoped_policy sp WHERE sp.project_id = p.id)
    /*box*/ /*area*/
), clock AS (
  -- the day the figures are for: the data's as-of day (a demo's), else today
  SELECT COALESCE(as_of, (now() AT TIME ZONE 'Asia/Shanghai')::date) AS today FROM data_version
), rule AS (
  -- the insurer's claim deadlines, in days (geo/programme.py seeds them)
  SELECT max(value) FILTER (WHERE name = 'survey_days') AS survey_days,
         max(value) FILTER (WHERE name = 'decision_days') AS decision_days,
         max(value) FILTER (WHERE name = 'decision_days_complex') AS decision_days_complex,
         max(value) FILTER (WHERE name = 'settlement_days') AS settlement_days,
         max(value) FILTER (WHERE name = 'refusal_notice_days') AS refusal_notice_days
  FROM programme_rule
)
