-- The stored projects under the project file's column names, so that columns a file leaves
-- out keep their stored values instead of being cleared.
SELECT p.permit_no, p.name AS project_name, p.community, p.address,
       p.district_code AS district, ST_X(p.location) AS lon, ST_Y(p.location) AS lat,
       dev.name AS developer, dev.uscc AS developer_uscc, con.name AS contractor,
       sup.name AS supervisor, des.name AS designer, sur.name AS surveyor,
       p.gross_floor_area_m2 AS gross_floor_area, p.units,
       p.construction_cost_yuan AS construction_cost, p.stage, p.start_date,
       p.completion_date, p.delivery_date
FROM project p
JOIN organisation dev ON dev.id = p.developer_id
LEFT JOIN organisation con ON con.id = p.contractor_id
LEFT JOIN organisation sup ON sup.id = p.supervisor_id
LEFT JOIN organisation des ON des.id = p.designer_id
LEFT JOIN organisation sur ON sur.id = p.surveyor_id
