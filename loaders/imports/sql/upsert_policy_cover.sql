-- Every policy has the basic cover, dated from its project's completion acceptance by the
-- programme's rules; riders are as the file lists them, with their contract periods.
INSERT INTO coverage_section (policy_id, section, starts_on, ends_on)
SELECT po.id, k.code,
       (p.completion_date + make_interval(years => r.value))::date,
       ((p.completion_date + make_interval(years => r.value))::date
        + make_interval(years => k.period_years))::date
FROM stage_policy s
JOIN policy po ON po.policy_no = s.policy_no
JOIN project p ON p.id = po.project_id
CROSS JOIN coverage_section_kind k
JOIN programme_rule r ON r.name = 'liability_start_years'
WHERE k.period_years IS NOT NULL
ON CONFLICT (policy_id, section) DO NOTHING;

INSERT INTO coverage_section AS cs (policy_id, section, starts_on, ends_on)
SELECT po.id, x ->> 'section', (x ->> 'starts_on')::date, (x ->> 'ends_on')::date
FROM stage_policy s
JOIN policy po ON po.policy_no = s.policy_no
CROSS JOIN LATERAL jsonb_array_elements(s.riders::jsonb) x
ON CONFLICT (policy_id, section) DO UPDATE SET
  starts_on = EXCLUDED.starts_on, ends_on = EXCLUDED.ends_on
WHERE (cs.starts_on, cs.ends_on) IS DISTINCT FROM (EXCLUDED.starts_on, EXCLUDED.ends_on)
