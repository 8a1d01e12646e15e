-- The sections each named policy covers, their periods (NULL until completion acceptance
-- dates a basic section) and the project's delivery date (a late delivery extends the
-- time to claim).
SELECT po.policy_no, cs.section, cs.starts_on, cs.ends_on, p.delivery_date
FROM policy po
JOIN coverage_section cs ON cs.policy_id = po.id
JOIN project p ON p.id = po.project_id
WHERE po.policy_no = ANY(:keys) AND (CAST(:org AS int) IS NULL OR po.lead_insurer_id = :org)
