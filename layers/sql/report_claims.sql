-- A district's claims with the insurer's deadline performance, after scope.sql and
-- stats_base.sql; latest first.
SELECT c.claim_no, p.name AS project, c.unit_no, k.name_zh AS section, st.name_zh AS status,
       c.lead_insurer_name AS insurer, c.reported_on, c.surveyed_on, c.decided_on, c.settled_on,
       c.paid_share_yuan / 10000 AS paid_wan,
       COALESCE(NULLIF(concat_ws('、',
         CASE WHEN c.survey_late THEN '查勘超时' END,
         CASE WHEN c.decision_late THEN '核定超时' END,
         CASE WHEN c.settlement_late THEN '履行超时' END,
         CASE WHEN c.refusal_notice_late THEN '拒赔通知超时' END), ''), '无超时') AS breaches
FROM stat_claim c
JOIN policy po ON po.id = c.policy_id
JOIN project p ON p.id = po.project_id
JOIN coverage_section_kind k ON k.code = c.section
JOIN claim_status st ON st.code = c.status
WHERE c.district_code = :code
ORDER BY c.reported_on DESC, c.claim_no
