-- The rows the statistics count, after scope.sql (layers/statistics.py aggregates them).
-- Each source applies the period to its own date: policy issue, report submitted, risk event
-- found, claim reported. Money counts at the filtered insurer's share (scope.sql).
, city_project AS (
  SELECT p.*, riskmap_district_label(d.name, d.city_name, CAST(:prefix AS text)) AS district_name,
         p.construction_cost_yuan / p.gross_floor_area_m2 AS cost_per_m2
  FROM scoped_project p JOIN district d ON d.code = p.district_code
    AND (d.city_code = :city OR starts_with(d.code, :prefix))
), stat_policy AS (
  -- a policy's premium is its rate times its project's cost: both at the same share
  SELECT sp.*, p.district_code, p.district_name, p.cost_per_m2, p.construction_cost_yuan,
         p.construction_cost_yuan * sp.share AS rated_cost_yuan,
         (SELECT cs.starts_on FROM coverage_section cs
           WHERE cs.policy_id = sp.id AND cs.section = 'structure') AS cover_starts_on
  FROM scoped_policy sp JOIN city_project p ON p.id = sp.project_id
  WHERE (CAST(:date_from AS date) IS NULL OR sp.issue_date >= :date_from)
    AND (CAST(:date_to AS date) IS NULL OR sp.issue_date <= :date_to)
), stat_project AS (
  -- a project with two policies in the period counts its floor area and cost once
  SELECT p.* FROM city_project p WHERE p.id IN (SELECT project_id FROM stat_policy)
), insurer_policy AS (
  -- each insurer's part of each written policy (an insurer's own view: only its part)
  SELECT s.insurer_id, COALESCE(o.short_name, o.name) AS insurer_name, sp.id, sp.project_id,
         sp.rate, po.premium_yuan * s.share AS premium_yuan,
         sp.construction_cost_yuan * s.share AS rated_cost_yuan,
         po.sum_insured_yuan * s.share AS sum_insured_yuan
  FROM stat_policy sp JOIN policy po ON po.id = sp.id
  JOIN policy_share s ON s.policy_id = sp.id
  JOIN organisation o ON o.id = s.insurer_id
  WHERE CAST(:insurer AS int) IS NULL OR s.insurer_id = :insurer
), project_tis AS (
  -- the TIS of a project: of its (scoped) policies, the one with the lowest id
  SELECT DISTINCT ON (sp.project_id) sp.project_id, sp.tis_id
  FROM scoped_policy sp WHERE sp.tis_id IS NOT NULL ORDER BY sp.project_id, sp.id
), tis_project AS (
  SELECT p.*, pt.tis_id, COALESCE(o.short_name, o.name, '未指定') AS tis_name
  FROM city_project p LEFT JOIN project_tis pt ON pt.project_id = p.id
  LEFT JOIN organisation o ON o.id = pt.tis_id
), stat_report AS (
  SELECT r.* FROM report r JOIN city_project p ON p.id = r.project_id
  WHERE (CAST(:date_from AS date) IS NULL OR r.submitted_on >= :date_from)
    AND (CAST(:date_to AS date) IS NULL OR r.submitted_on <= :date_to)
), stat_event AS (
  -- an event counts for the TIS whose inspection found it, else the project's TIS
  SELECT e.*, p.district_code, p.district_name, c.name_zh AS category_zh,
         s.name_zh AS severity_zh, s.weight AS severity_weight, st.name_zh AS status_zh,
         COALESCE(oi.short_name, oi.name, p.tis_name) AS tis_name,
         (e.status <> 'closed' AND e.due_on < k.today) AS overdue
  FROM risk_event e JOIN tis_project p ON p.id = e.project_id
  JOIN risk_category c ON c.code = e.category
  JOIN risk_severity s ON s.code = e.severity
  JOIN risk_event_status st ON st.code = e.status
  LEFT JOIN inspection i ON i.id = e.inspection_id
  LEFT JOIN organisation oi ON oi.id = i.tis_id
  CROSS JOIN clock k
  WHERE (CAST(:date_from AS date) IS NULL OR e.found_on >= :date_from)
    AND (CAST(:date_to AS date) IS NULL OR e.found_on <= :date_to)
), stat_claim AS (
  -- each deadline step: NULL while it does not apply or is not yet due, else late or not;
  -- a step still waiting is measured up to today
  SELECT c.*, p.district_code, p.district_name, sp.share,
         c.paid_amount_yuan * sp.share AS paid_share_yuan,
         sp.lead_insurer_id, COALESCE(o.short_name, o.name) AS lead_insurer_name,
         c.decision = 'accepted' AS filed,
         CASE WHEN c.surveyed_on IS NOT NULL OR k.today - c.reported_on > r.survey_days
              THEN COALESCE(c.surveyed_on, k.today) - c.reported_on > r.survey_days END
           AS survey_late,
         CASE WHEN c.decided_on IS NOT NULL OR k.today - c.reported_on > dd.days
              THEN COALESCE(c.decided_on, k.today) - c.reported_on > dd.days END
           AS decision_late,
         CASE WHEN c.agreed_on IS NOT NULL
               AND (c.settled_on IS NOT NULL OR k.today - c.agreed_on > r.settlement_days)
              THEN COALESCE(c.settled_on, k.today) - c.agreed_on > r.settlement_days END
           AS settlement_late,
         CASE WHEN c.decision = 'rejected' AND (c.refusal_notified_on IS NOT NULL
                   OR k.today - c.decided_on > r.refusal_notice_days)
              THEN COALESCE(c.refusal_notified_on, k.today) - c.decided_on
                   > r.refusal_notice_days END
           AS refusal_notice_late
  FROM claim c JOIN scoped_policy sp ON sp.id = c.policy_id
  JOIN city_project p ON p.id = sp.project_id
  JOIN organisation o ON o.id = sp.lead_insurer_id
  CROSS JOIN rule r CROSS JOIN clock k
  CROSS JOIN LATERAL (SELECT CASE WHEN c.is_complex THEN r.decision_days_complex
                                  ELSE r.decision_days END AS days) dd
  WHERE (CAST(:date_from AS date) IS NULL OR c.reported_on >= :date_from)
    AND (CAST(:date_to AS date) IS NULL OR c.reported_on <= :date_to)
), insurer_claim AS (
  SELECT s.insurer_id, COALESCE(o.short_name, o.name) AS insurer_name, c.id, c.status,
         c.filed, c.paid_amount_yuan * s.share AS paid_share_yuan
  FROM stat_claim c JOIN policy_share s ON s.policy_id = c.policy_id
  JOIN organisation o ON o.id = s.insurer_id
  WHERE CAST(:insurer AS int) IS NULL OR s.insurer_id = :insurer
), claim_step AS (
  -- one row per deadline step of each claim, for the lead insurer's deadline performance
  SELECT c.lead_insurer_name, step.name, step.late
  FROM stat_claim c CROSS JOIN LATERAL (VALUES
    ('survey', c.survey_late), ('decision', c.decision_late),
    ('settlement', c.settlement_late), ('refusal_notice', c.refusal_notice_late)) step(name, late)
  WHERE step.late IS NOT NULL
)
