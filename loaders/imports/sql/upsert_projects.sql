-- Insert new projects, update changed ones, leave identical ones untouched (so a re-import
-- is a no-op); returns how many were inserted and updated.
WITH incoming AS (
  SELECT s.permit_no, s.name, s.community, s.address, s.district_code,
         ST_SetSRID(ST_MakePoint(s.lon, s.lat), 4326) AS location,
         dev.id AS developer_id, con.id AS contractor_id, des.id AS designer_id,
         sur.id AS surveyor_id, sup.id AS supervisor_id,
         s.gross_floor_area_m2, s.units, s.construction_cost_yuan, s.stage,
         s.start_date, s.completion_date, s.delivery_date
  FROM stage_project s
  JOIN organisation dev ON dev.name = s.developer
  LEFT JOIN organisation con ON con.name = s.contractor
  LEFT JOIN organisation des ON des.name = s.designer
  LEFT JOIN organisation sur ON sur.name = s.surveyor
  LEFT JOIN organisation sup ON sup.name = s.supervisor
), written AS (
  INSERT INTO project AS p (permit_no, name, community, address, district_code, location,
    developer_id, contractor_id, designer_id, surveyor_id, supervisor_id, gross_floor_area_m2,
    units, construction_cost_yuan, stage, start_date, completion_date, delivery_date)
  SELECT * FROM incoming
  ON CONFLICT (permit_no) DO UPDATE SET
    name = EXCLUDED.name, community = EXCLUDED.community, address = EXCLUDED.address,
    district_code = EXCLUDED.district_code, location = EXCLUDED.location,
    developer_id = EXCLUDED.developer_id, contractor_id = EXCLUDED.contractor_id,
    designer_id = EXCLUDED.designer_id, surveyor_id = EXCLUDED.surveyor_id,
    supervisor_id = EXCLUDED.supervisor_id, gross_floor_area_m2 = EXCLUDED.gross_floor_area_m2,
    units = EXCLUDED.units, construction_cost_yuan = EXCLUDED.construction_cost_yuan,
    stage = EXCLUDED.stage, start_date = EXCLUDED.start_date,
    completion_date = EXCLUDED.completion_date, delivery_date = EXCLUDED.delivery_date,
    updated_at = now()
  WHERE (p.name, p.community, p.address, p.district_code, ST_AsEWKB(p.location),
         p.developer_id, p.contractor_id, p.designer_id, p.surveyor_id, p.supervisor_id,
         p.gross_floor_area_m2, p.units, p.construction_cost_yuan, p.stage, p.start_date,
         p.completion_date, p.delivery_date)
    IS DISTINCT FROM
        (EXCLUDED.name, EXCLUDED.community, EXCLUDED.address, EXCLUDED.district_code,
         ST_AsEWKB(EXCLUDED.location), EXCLUDED.developer_id, EXCLUDED.contractor_id,
         EXCLUDED.designer_id, EXCLUDED.surveyor_id, EXCLUDED.supervisor_id,
         EXCLUDED.gross_floor_area_m2, EXCLUDED.units, EXCLUDED.construction_cost_yuan,
         EXCLUDED.stage, EXCLUDED.start_date, EXCLUDED.completion_date, EXCLUDED.delivery_date)
  RETURNING (xmax = 0) AS inserted
)
SELECT count(*) FILTER (WHERE inserted) AS inserted,
       count(*) FILTER (WHERE NOT inserted) AS updated
FROM written
