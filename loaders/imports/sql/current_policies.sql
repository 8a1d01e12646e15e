-- The stored policies under the policy file's column names (shares, reinsurance and riders
-- as the JSON lists the import stages), so that columns a file leaves out keep their values.
SELECT po.policy_no, p.permit_no, lead.name AS lead_insurer,
       (SELECT s.share FROM policy_share s WHERE s.policy_id = po.id AND s.is_lead) AS lead_share,
       (SELECT json_agg(json_build_object('name', o.name, 'share', s.share, 'lead', s.is_lead)
                        ORDER BY s.is_lead DESC, o.name)::text
          FROM policy_share s JOIN organisation o ON o.id = s.insurer_id
         WHERE s.policy_id = po.id) AS co_insurers,
       (SELECT COALESCE(json_agg(json_build_object('name', o.name, 'share', r.share)), '[]')::text
          FROM reinsurance_share r JOIN organisation o ON o.id = r.reinsurer_id
         WHERE r.policy_id = po.id) AS reinsurers,
       tis.name AS tis, po.premium_yuan AS premium, po.rate, po.sum_insured_yuan AS sum_insured,
       po.issue_date, po.status,
       (SELECT COALESCE(json_agg(json_build_object('section', cs.section,
                        'starts_on', cs.starts_on, 'ends_on', cs.ends_on)), '[]')::text
          FROM coverage_section cs JOIN coverage_section_kind k ON k.code = cs.section
         WHERE cs.policy_id = po.id AND k.is_rider) AS riders
FROM policy po
JOIN project p ON p.id = po.project_id
JOIN organisation lead ON lead.id = po.lead_insurer_id
LEFT JOIN organisation tis ON tis.id = po.tis_id
