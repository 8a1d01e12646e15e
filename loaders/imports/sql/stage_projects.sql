-- Staging table for a project file, filled by COPY; dropped with the transaction.
CREATE TEMP TABLE stage_project (
  permit_no text, name text, community text, address text, district_code text,
  lon double precision, lat double precision,
  developer text, developer_uscc text, contractor text, supervisor text, designer text,
  surveyor text, gross_floor_area_m2 numeric, units int, construction_cost_yuan numeric,
  stage text, start_date date, completion_date date, delivery_date date
) ON COMMIT DROP
