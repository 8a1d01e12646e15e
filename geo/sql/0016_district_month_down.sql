DROP TRIGGER IF EXISTS district_day_months_ins ON district_day;
DROP TRIGGER IF EXISTS district_day_months_del ON district_day;
DROP TRIGGER IF EXISTS district_day_months_trunc ON district_day;
DROP TRIGGER IF EXISTS district_month_years_ins ON district_month;
DROP TRIGGER IF EXISTS district_month_years_del ON district_month;
DROP FUNCTION IF EXISTS riskmap_district_months_changed();
DROP FUNCTION IF EXISTS riskmap_district_years_changed();
DROP FUNCTION IF EXISTS riskmap_district_months_truncated();
DROP INDEX IF EXISTS district_day_day_idx;
DROP TABLE IF EXISTS district_year;
DROP TABLE IF EXISTS district_month;

CREATE OR REPLACE FUNCTION riskmap_district_days(city text, date_from date, date_to date)
RETURNS TABLE (district_code char(6), premium_yuan numeric, sum_insured_yuan numeric,
               rated_cost_yuan numeric, rated_area_m2 numeric, risk_events bigint,
               severe_risk_events bigint, open_risk_events bigint, closed_risk_events bigint)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
  SELECT dd.district_code, sum(dd.premium_yuan), sum(dd.sum_insured_yuan),
         sum(dd.rated_cost_yuan), sum(dd.rated_area_m2), sum(dd.risk_events),
         sum(dd.severe_risk_events), sum(dd.open_risk_events), sum(dd.closed_risk_events)
  FROM district_day dd JOIN district d ON d.code = dd.district_code
  WHERE starts_with(d.code::text, (SELECT riskmap_area()))
    AND starts_with(d.code::text, riskmap_jurisdiction_prefix(city))
    AND (date_from IS NULL OR dd.day >= date_from) AND (date_to IS NULL OR dd.day <= date_to)
  GROUP BY dd.district_code
$$;
