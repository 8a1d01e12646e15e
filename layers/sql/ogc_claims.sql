-- The OGC API collection "claims": each claim the caller may see, at its project. No personal
-- data of the owners: neither the reporter's name and phone nor the unit (房号), nor the secret.
SELECT c.id, c.claim_no, c.policy_id, po.policy_no, po.project_id, p.name AS project_name,
       trim(p.district_code) AS district_code,
       c.section, k.name_zh AS section_zh, c.status, cs.name_zh AS status_zh,
       c.is_complex, c.is_emergency, c.reported_on, c.decided_on, c.decision, c.settled_on,
       CAST(c.claimed_amount_yuan AS float8) AS claimed_amount_yuan,
       CAST(c.paid_amount_yuan AS float8) AS paid_amount_yuan,
       p.location AS geom
FROM claim c
JOIN policy po ON po.id = c.policy_id
JOIN project p ON p.id = po.project_id
JOIN coverage_section_kind k ON k.code = c.section
JOIN claim_status cs ON cs.code = c.status
