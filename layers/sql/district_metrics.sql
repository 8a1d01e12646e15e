-- Base aggregates per district, after scope.sql. The catalogue's metric expressions
-- (layers/catalogue.py) are computed over these columns. :city is a city's code, or a
-- province's or the nation's (100000) for every district of theirs (layers rolled up).
-- Period: policy issue date (premium), risk event found (risk), claim reported (claims),
-- complaint received (complaints); a project's grade is its current one (geo/grades.py).
-- Each part carries a /*need:<part>*/ mark: a layer that reads none of a part's columns has
-- it replaced by "AND false" (layers/districts.py), and the planner then skips that part.
, written_policy AS (
  -- a policy's rate applies to its project's cost: ratios take both at the policy's share
  SELECT sp.*, p.district_code, p.construction_cost_yuan * sp.share AS rated_cost_yuan,
         p.gross_floor_area_m2 * sp.share AS rated_area_m2
  FROM scoped_policy sp JOIN project p ON p.id = sp.project_id
  WHERE (CAST(:date_from AS date) IS NULL OR sp.issue_date >= :date_from)
    AND (CAST(:date_to AS date) IS NULL OR sp.issue_date <= :date_to)
), written AS (
  SELECT district_code, sum(premium_yuan) AS premium_yuan,
         sum(sum_insured_yuan) AS sum_insured_yuan, sum(rated_cost_yuan) AS rated_cost_yuan,
         sum(rated_area_m2) AS rated_area_m2
  FROM written_policy WHERE true /*need:written*/ GROUP BY district_code
), written_project AS (
  -- a project with two policies in the period counts its floor area and cost once
  SELECT p.district_code, count(*) AS projects, sum(p.gross_floor_area_m2) AS insured_area_m2,
         sum(p.construction_cost_yuan) AS construction_cost_yuan
  FROM scoped_project p
  WHERE EXISTS (SELECT 1 FROM written_policy w WHERE w.project_id = p.id)
    /*need:written_project*/
  GROUP BY p.district_code
), exposure AS (
  -- units count towards claim frequency once the insurer's liability has started
  -- (the clock is read inside the check so that it runs once, not once per project)
  SELECT p.district_code, sum(p.gross_floor_area_m2) AS floor_area_m2,
         sum(p.units) FILTER (WHERE p.id IN (
           SELECT sp.project_id FROM scoped_policy sp
           JOIN coverage_section cs ON cs.policy_id = sp.id AND cs.section = 'structure'
           WHERE cs.starts_on <= COALESCE(CAST(:date_to AS date), (SELECT today FROM clock))))
           AS units
  FROM scoped_project p WHERE true /*need:exposure*/ GROUP BY p.district_code
), risk AS (
  SELECT p.district_code, count(*) AS risk_events,
         count(*) FILTER (WHERE e.severity = 'severe') AS severe_risk_events,
         count(*) FILTER (WHERE e.status <> 'closed') AS open_risk_events,
         count(*) FILTER (WHERE e.status = 'closed') AS closed_risk_events
  FROM risk_event e JOIN scoped_project p ON p.id = e.project_id
  WHERE (CAST(:date_from AS date) IS NULL OR e.found_on >= :date_from)
    AND (CAST(:date_to AS date) IS NULL OR e.found_on <= :date_to) /*need:risk*/
  GROUP BY p.district_code
), claim_rows AS (
  SELECT p.district_code, c.paid_amount_yuan * sp.share AS paid_amount_yuan,
         -- a step still waiting is measured up to today
         (COALESCE(c.surveyed_on, k.today) - c.reported_on > r.survey_days
          OR COALESCE(c.decided_on, k.today) - c.reported_on >
             CASE WHEN c.is_complex THEN r.decision_days_complex ELSE r.decision_days END
          OR (c.agreed_on IS NOT NULL
              AND COALESCE(c.settled_on, k.today) - c.agreed_on > r.settlement_days)
          OR (c.decision = 'rejected'
              AND COALESCE(c.refusal_notified_on, k.today) - c.decided_on
                  > r.refusal_notice_days)) AS breached
  FROM claim c JOIN scoped_policy sp ON sp.id = c.policy_id
  JOIN project p ON p.id = sp.project_id CROSS JOIN rule r CROSS JOIN clock k
  WHERE (CAST(:date_from AS date) IS NULL OR c.reported_on >= :date_from)
    AND (CAST(:date_to AS date) IS NULL OR c.reported_on <= :date_to) /*need:claims*/
), claims AS (
  SELECT district_code, count(*) AS claims, sum(paid_amount_yuan) AS paid_yuan,
         count(*) FILTER (WHERE breached) AS deadline_breaches
  FROM claim_rows GROUP BY district_code
), earned AS (
  -- premium earns evenly over the 10-year structure cover, counted inside the period
  SELECT p.district_code, sum(sp.premium_yuan * GREATEST(0,
           LEAST(cs.ends_on, COALESCE(CAST(:date_to AS date), k.today) + 1)
           - GREATEST(cs.starts_on, COALESCE(CAST(:date_from AS date), cs.starts_on)))
         / (cs.ends_on - cs.starts_on)::numeric) AS earned_premium_yuan
  FROM scoped_policy sp JOIN project p ON p.id = sp.project_id
  JOIN coverage_section cs ON cs.policy_id = sp.id AND cs.section = 'structure'
  CROSS JOIN clock k
  WHERE cs.starts_on IS NOT NULL /*need:earned*/
  GROUP BY p.district_code
), graded AS (
  -- each project's current grade: the latest row of its history
  SELECT p.district_code, count(*) AS graded_projects,
         count(*) FILTER (WHERE g.grade IN ('C', 'D')) AS graded_c_or_d
  FROM scoped_project p
  JOIN LATERAL (SELECT pg.grade FROM project_grade pg WHERE pg.project_id = p.id
                ORDER BY pg.id DESC LIMIT 1) g ON true
  WHERE true /*need:graded*/
  GROUP BY p.district_code
), complaints AS (
  -- complaints about a party: the insurer and TIS filters are the party complained about
  SELECT c.district_code, count(*) AS complaints
  FROM complaint c LEFT JOIN project p ON p.id = c.project_id
  WHERE (CAST(:date_from AS date) IS NULL OR c.received_on >= :date_from)
    AND (CAST(:date_to AS date) IS NULL OR c.received_on <= :date_to)
    AND (CAST(:insurer AS int) IS NULL OR c.party_id = :insurer)
    AND (CAST(:tis AS int) IS NULL OR c.party_id = :tis)
    AND (CAST(:stage AS text) IS NULL OR p.stage = :stage) /*need:complaints*/
  GROUP BY c.district_code
), district_base AS (
  SELECT d.code, d.name, d.city_code,
         COALESCE(wp.projects, 0) AS projects,
         COALESCE(wp.insured_area_m2, 0) AS insured_area_m2,
         COALESCE(wp.construction_cost_yuan, 0) AS construction_cost_yuan,
         COALESCE(w.premium_yuan, 0) AS premium_yuan,
         COALESCE(w.sum_insured_yuan, 0) AS sum_insured_yuan,
         COALESCE(w.rated_cost_yuan, 0) AS rated_cost_yuan,
         COALESCE(w.rated_area_m2, 0) AS rated_area_m2,
         COALESCE(x.floor_area_m2, 0) AS floor_area_m2,
         COALESCE(x.units, 0) AS units,
         COALESCE(r.risk_events, 0) AS risk_events,
         COALESCE(r.severe_risk_events, 0) AS severe_risk_events,
         COALESCE(r.open_risk_events, 0) AS open_risk_events,
         COALESCE(r.closed_risk_events, 0) AS closed_risk_events,
         COALESCE(c.claims, 0) AS claims,
         COALESCE(c.paid_yuan, 0) AS paid_yuan,
         COALESCE(c.deadline_breaches, 0) AS deadline_breaches,
         COALESCE(e.earned_premium_yuan, 0) AS earned_premium_yuan,
         COALESCE(g.graded_projects, 0) AS graded_projects,
         COALESCE(g.graded_c_or_d, 0) AS graded_c_or_d,
         COALESCE(k.complaints, 0) AS complaints
  FROM district d
  LEFT JOIN written w ON w.district_code = d.code
  LEFT JOIN written_project wp ON wp.district_code = d.code
  LEFT JOIN exposure x ON x.district_code = d.code
  LEFT JOIN risk r ON r.district_code = d.code
  LEFT JOIN claims c ON c.district_code = d.code
  LEFT JOIN earned e ON e.district_code = d.code
  LEFT JOIN graded g ON g.district_code = d.code
  LEFT JOIN complaints k ON k.district_code = d.code
  WHERE starts_with(d.code, riskmap_jurisdiction_prefix(:city))
    AND (CAST(:district AS text) IS NULL OR d.code = :district)
)
