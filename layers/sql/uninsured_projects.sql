-- Projects that should be insured and are not: every residential project of the city with no
-- live policy (none submitted or confirmed), the longest under way first. The regulator's
-- view (Kunming 四（一）: 确认此项目已完成保险购买).
SELECT p.id, p.permit_no, p.name, p.community, d.name AS district, s.name_zh AS stage,
       dev.name AS developer, p.start_date, p.gross_floor_area_m2, p.units,
       (SELECT string_agg(DISTINCT st.name_zh, '、') FROM policy po
        JOIN policy_status st ON st.code = po.status WHERE po.project_id = p.id) AS lapsed
FROM project p
JOIN district d ON d.code = p.district_code AND d.city_code = :city
JOIN project_stage s ON s.code = p.stage
JOIN organisation dev ON dev.id = p.developer_id
WHERE NOT EXISTS (SELECT 1 FROM policy po WHERE po.project_id = p.id
                  AND po.status IN ('submitted', 'confirmed'))
ORDER BY p.start_date NULLS LAST, p.permit_no
