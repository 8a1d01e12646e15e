-- A project's policies with their insurers (lead first), shares, TIS and cover.
SELECT po.policy_no, ps.name_zh AS status, po.issue_date::text AS issue_date,
       po.premium_yuan, po.rate, po.sum_insured_yuan, tis.name AS tis,
       (SELECT string_agg(o.name || ' ' || to_char(s.share * 100, 'FM990.##') || '%'
                          || CASE WHEN s.is_lead THEN '（主承保）' ELSE '' END, '、'
                          ORDER BY s.is_lead DESC, s.share DESC)
          FROM policy_share s JOIN organisation o ON o.id = s.insurer_id
         WHERE s.policy_id = po.id) AS insurers,
       (SELECT string_agg(k.name_zh || ' ' || COALESCE(cs.starts_on::text || '至' ||
                          cs.ends_on::text, '竣工验收后确定'), '；' ORDER BY k.is_rider, k.code)
          FROM coverage_section cs JOIN coverage_section_kind k ON k.code = cs.section
         WHERE cs.policy_id = po.id) AS cover
FROM policy po
JOIN policy_status ps ON ps.code = po.status
LEFT JOIN organisation tis ON tis.id = po.tis_id
WHERE po.project_id = :id
ORDER BY po.issue_date
