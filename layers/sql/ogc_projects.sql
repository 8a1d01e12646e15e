-- The OGC API collection "projects": one point per project the caller may see (row security
-- does the narrowing: the query runs as the web role acting for the caller).
SELECT p.id, p.permit_no, p.name, p.community, p.address,
       trim(p.district_code) AS district_code, d.name AS district,
       p.stage, st.name_zh AS stage_zh,
       CAST(p.gross_floor_area_m2 AS float8) AS gross_floor_area_m2, p.units,
       CAST(p.construction_cost_yuan AS float8) AS construction_cost_yuan,
       p.start_date, p.completion_date, p.delivery_date,
       (SELECT CAST(g.grade AS text) FROM project_grade g WHERE g.project_id = p.id
        ORDER BY g.id DESC LIMIT 1) AS grade,
       p.location AS geom
FROM project p
JOIN district d ON d.code = p.district_code
JOIN project_stage st ON st.code = p.stage
