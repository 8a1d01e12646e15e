-- district_base (as district_metrics.sql makes it) from district_day, the per-district, per-day
-- sums the writes keep current (geo/sql/0010_map_project.sql): for a caller who sees the whole
-- programme, without an insurer, TIS or stage filter, and a layer reading only the written and
-- risk parts (layers/districts.py), so a layer costs its districts' days, not every policy.
-- The other parts are 0, as district_metrics.sql leaves the parts a layer does not read
-- (:need_written, :need_risk).
WITH days AS (
  SELECT * FROM riskmap_district_days(:city, CAST(:date_from AS date), CAST(:date_to AS date))
), district_base AS (
  SELECT d.code, d.name, d.city_code,
         0::bigint AS projects, 0::numeric AS insured_area_m2,
         0::numeric AS construction_cost_yuan,
         CASE WHEN :need_written THEN COALESCE(x.premium_yuan, 0) ELSE 0 END
           AS premium_yuan,
         CASE WHEN :need_written THEN COALESCE(x.sum_insured_yuan, 0) ELSE 0 END
           AS sum_insured_yuan,
         CASE WHEN :need_written THEN COALESCE(x.rated_cost_yuan, 0) ELSE 0 END
           AS rated_cost_yuan,
         CASE WHEN :need_written THEN COALESCE(x.rated_area_m2, 0) ELSE 0 END
           AS rated_area_m2,
         0::numeric AS floor_area_m2, 0::bigint AS units,
         CASE WHEN :need_risk THEN COALESCE(x.risk_events, 0) ELSE 0 END
           AS risk_events,
         CASE WHEN :need_risk THEN COALESCE(x.severe_risk_events, 0) ELSE 0 END
           AS severe_risk_events,
         CASE WHEN :need_risk THEN COALESCE(x.open_risk_events, 0) ELSE 0 END
           AS open_risk_events,
         CASE WHEN :need_risk THEN COALESCE(x.closed_risk_events, 0) ELSE 0 END
           AS closed_risk_events,
         0::bigint AS claims, 0::numeric AS paid_yuan, 0::bigint AS deadline_breaches,
         0::numeric AS earned_premium_yuan, 0::bigint AS graded_projects,
         0::bigint AS graded_c_or_d, 0::bigint AS complaints
  FROM district d LEFT JOIN days x ON x.district_code = d.code
  WHERE starts_with(d.code, riskmap_jurisdiction_prefix(:city))
    AND (CAST(:district AS text) IS NULL OR d.code = :district)
)
