-- The filters every layer shares (prefix of the layers' queries; they continue with ", ...").
-- :insurer holds any share of the policy (lead or co-insurer); :tis is the policy's TIS;
-- :district and :stage apply to the project. The period is applied by each layer to its
-- own date (policy issue, risk event found, claim reported).
WITH scoped_policy AS (
  SELECT po.id, po.project_id, po.premium_yuan, po.sum_insured_yuan, po.rate, po.issue_date,
         po.lead_insurer_id, po.tis_id
  FROM policy po
  JOIN project p ON p.id = po.project_id
  WHERE po.status NOT IN ('returned', 'cancelled')
    AND (CAST(:insurer AS int) IS NULL OR EXISTS (
          SELECT 1 FROM policy_share s WHERE s.policy_id = po.id AND s.insurer_id = :insurer))
    AND (CAST(:tis AS int) IS NULL OR po.tis_id = :tis)
    AND (CAST(:district AS text) IS NULL OR p.district_code = :district)
    AND (CAST(:stage AS text) IS NULL OR p.stage = :stage)
), scoped_project AS (
  SELECT p.* FROM project p
  WHERE EXISTS (SELECT 1 FROM scoped_policy sp WHERE sp.project_id = p.id)
)
