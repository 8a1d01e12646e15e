-- A project's other insurance (Kunming 三（四）): the participants' quality-liability policies
-- and prefabricated-component IDI, each with its kind in Chinese, insurer, insured party,
-- sum insured and period.
SELECT op.policy_no, op.kind,
       CASE op.kind WHEN 'liability_survey' THEN '勘察单位工程质量责任保险'
                    WHEN 'liability_design' THEN '设计单位工程质量责任保险'
                    WHEN 'liability_construction' THEN '施工单位工程质量责任保险'
                    WHEN 'liability_supervision' THEN '监理单位工程质量责任保险'
                    WHEN 'prefab_idi' THEN '预制构件质量潜在缺陷保险' END AS kind_zh,
       ins.name AS insurer, insured.name AS insured, op.sum_insured_yuan,
       op.starts_on::text AS starts_on, op.ends_on::text AS ends_on
FROM other_policy op
JOIN organisation ins ON ins.id = op.insurer_id
LEFT JOIN organisation insured ON insured.id = op.insured_id
WHERE op.project_id = :id
ORDER BY array_position(ARRAY['liability_survey', 'liability_design', 'liability_construction',
                              'liability_supervision', 'prefab_idi'], op.kind), op.policy_no
