-- One project with its district, parties and current grade (geo/grades.py).
SELECT p.id, p.permit_no, p.name, p.community, p.address, d.name AS district,
       s.name_zh AS stage, p.gross_floor_area_m2, p.units, p.construction_cost_yuan,
       p.start_date, p.completion_date, p.delivery_date,
       ST_X(p.location) AS lon, ST_Y(p.location) AS lat,
       dev.name AS developer, con.name AS contractor, sup.name AS supervisor,
       des.name AS designer, sur.name AS surveyor,
       g.grade, CAST(g.score AS float8) AS grade_score
FROM project p
JOIN district d ON d.code = p.district_code
JOIN project_stage s ON s.code = p.stage
JOIN organisation dev ON dev.id = p.developer_id
LEFT JOIN organisation con ON con.id = p.contractor_id
LEFT JOIN organisation sup ON sup.id = p.supervisor_id
LEFT JOIN organisation des ON des.id = p.designer_id
LEFT JOIN organisation sur ON sur.id = p.surveyor_id
LEFT JOIN LATERAL (SELECT pg.grade, pg.score FROM project_grade pg WHERE pg.project_id = p.id
                   ORDER BY pg.id DESC LIMIT 1) g ON true
WHERE p.id = :id
